"""Malformed suite files give one error that names the file and the line (and the field)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llamune_eval.benchmarks import SuiteError, jcommonsenseqa, jnli, jsquad
from llamune_eval.benchmarks.inhouse import load as load_inhouse

GOOD = {"q_id": 1, "question": "q", "choice0": "a", "choice1": "b", "choice2": "c", "choice3": "d",
        "choice4": "e", "label": 0}  # fmt: skip


def _jsonl(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _error(fn, *args) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(SuiteError) as info:
        fn(*args)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_bad_jsonl_line_names_file_and_line(tmp_path: Path) -> None:
    _jsonl(tmp_path / "valid.jsonl", [json.dumps(GOOD), json.dumps(GOOD), '{"q_id": 3, "question": '])
    assert _error(jcommonsenseqa.load, str(tmp_path)).startswith(f"{tmp_path / 'valid.jsonl'}:3: invalid JSON")


def test_missing_field_names_line_and_field(tmp_path: Path) -> None:
    row = dict(GOOD)
    del row["choice3"]
    _jsonl(tmp_path / "valid.jsonl", [json.dumps(GOOD), json.dumps(row)])
    message = _error(jcommonsenseqa.load, str(tmp_path))
    assert f"{tmp_path / 'valid.jsonl'}:2" in message and "'choice3'" in message


def test_bad_label_value(tmp_path: Path) -> None:
    row = {"sentence_pair_id": "1", "sentence1": "a", "sentence2": "b", "label": "yes"}
    _jsonl(tmp_path / "valid.jsonl", [json.dumps(row)])
    message = _error(jnli.load, str(tmp_path), 0)
    assert ":1:" in message and "entailment" in message


def test_squad_layout_errors_name_the_question(tmp_path: Path) -> None:
    doc = {"data": [{"title": "t", "paragraphs": [{"context": "c", "qas": [{"id": "q1", "question": "?"}]}]}]}
    (tmp_path / "valid.json").write_text(json.dumps(doc), encoding="utf-8")
    message = _error(jsquad.load, str(tmp_path))
    assert "data[0].paragraphs[0].qas[0]" in message and "'answers'" in message
    (tmp_path / "valid.json").write_text('{"data": [', encoding="utf-8")
    assert ":1: invalid JSON" in _error(jsquad.load, str(tmp_path))


def test_bad_yaml_names_the_line(tmp_path: Path) -> None:
    spec = tmp_path / "suite.yaml"
    spec.write_text("name: x\nversion: '1'\nitems: [unclosed\n", encoding="utf-8")
    message = _error(load_inhouse, str(spec))
    assert message.startswith(f"{spec}:") and "invalid YAML" in message


@pytest.mark.parametrize(
    ("items", "needle"),
    [
        ('{"id": "a", "input": "x", "reference": "y"}\n{"id": "b"}\n', "items.jsonl:2: missing field 'input'"),
        ('{"id": "a", "input": "x", "scoring": "fuzzy"}\n', "items.jsonl:1: unknown scoring 'fuzzy'"),
        ('{"id": "a", "input": "x", "scoring": "regex", "pattern": "("}\n', "items.jsonl:1: bad regex"),
        (
            '{"id": "a", "input": "x", "scoring": "choice", "choices": ["p"], "reference": "q"}\n',
            "not one of the choices",
        ),
        ('{"id": "a", "input": "x", "scoring": "exact"}\n', "needs a reference"),
        ('{"id": "a", "input": "x"}\n{"id": "a", "input": "y"}\n', "duplicate item id 'a'"),
        ('{"id": "a", "turns": []}\n', "non-empty list of strings"),
    ],
)
def test_inhouse_item_errors(tmp_path: Path, items: str, needle: str) -> None:
    (tmp_path / "items.jsonl").write_text(items, encoding="utf-8")
    (tmp_path / "suite.yaml").write_text("name: s\nversion: '1'\nscoring: judge\nitems: items.jsonl\n")
    assert needle in _error(load_inhouse, str(tmp_path / "suite.yaml"))


def test_unknown_suite_key_and_missing_items_file(tmp_path: Path) -> None:
    (tmp_path / "suite.yaml").write_text("name: s\nitems: nope.jsonl\nscorer: exact\n")
    assert "unknown key(s) scorer" in _error(load_inhouse, str(tmp_path / "suite.yaml"))
    (tmp_path / "suite.yaml").write_text("name: s\nitems: nope.jsonl\n")
    assert "nope.jsonl" in _error(load_inhouse, str(tmp_path / "suite.yaml"))
