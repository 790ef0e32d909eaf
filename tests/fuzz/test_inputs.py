"""Fuzzing the files the project reads (first inputs of the bad-input issue): whatever the bytes, loading them
either works or raises the project's one-line error type naming the file, never anything else, and the file is
left byte-identical. `nox -s tests` runs a bounded number of examples; `nox -s fuzz` runs many more
(LLAMUNE_FUZZ_EXAMPLES)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from llamune_eval.benchmarks import SuiteError, inhouse, jcommonsenseqa, jsquad
from llamune_eval.config import ConfigError, load
from llamune_eval.settings import load_custom
from llamune_eval.types import InputError

EXAMPLES = int(os.environ.get("LLAMUNE_FUZZ_EXAMPLES", "60"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None)

# bytes that look like the real thing often enough to get past the first parser
TOML_LINES = st.sampled_from(["[run]", "limit = 2", "limit = -1", 'suites = ["a"]', "seed = \"x\"", "[recommend]",
                              "alpha = 2", "[[engines]]", 'kind = "olama"', "[models.m]", "think = 3", "\xff", "= 1",
                              "[judge]", "temperature = 0.3", 'keep_alive = "5x"'])  # fmt: skip
JSON_LINES = st.sampled_from(['{"q_id": 1, "question": "q", "choice0": "a", "choice1": "b", "choice2": "c", '
                              '"choice3": "d", "choice4": "e", "label": 2}', '{"label": 9}', "[1, 2]", "{", "null",
                              '{"id": "a", "input": "x", "scoring": "json_schema", "schema": {"type": "foo"}}',
                              '{"id": "a", "input": 5}', '{"id": "a", "turns": []}', "\ufeff{}", ""])  # fmt: skip


WORK = Path(tempfile.mkdtemp(prefix="llamune-fuzz-"))


def _lines(strategy: st.SearchStrategy[str]) -> st.SearchStrategy[bytes]:
    """Plausible lines mixed with arbitrary text, or arbitrary bytes (not UTF-8, NUL, ...)."""
    text = st.lists(st.one_of(strategy, st.text(max_size=30)), max_size=8).map("\n".join)
    return st.one_of(text.map(lambda t: t.encode("utf-8", "replace")), st.binary(max_size=200))


def _unchanged(path: Path, before: bytes) -> None:
    assert path.read_bytes() == before, f"{path} was changed"


def _loads_or_names_the_file(path: Path, body: bytes, loader: Callable[[Path], object], error: type[Exception],
                             *, one_line: bool = False) -> None:  # fmt: skip
    """`body` written to `path` loads, or fails with `error` naming the file; either way the file is unchanged."""
    path.write_bytes(body)
    try:
        loader(path)
    except error as exc:
        assert str(path) in str(exc)
        assert not one_line or "\n" not in str(exc).strip()
    finally:
        _unchanged(path, body)
        path.unlink()


@FUZZ
@given(body=_lines(TOML_LINES))
def test_config(body: bytes) -> None:
    _loads_or_names_the_file(WORK / "llamune.toml", body, lambda p: load(p, env={}), ConfigError, one_line=True)


@FUZZ
@given(body=_lines(JSON_LINES), kind=st.sampled_from(["jcommonsenseqa", "inhouse", "jsquad"]))
def test_suite_files(body: bytes, kind: str) -> None:
    folder = WORK / "suite"
    folder.mkdir(exist_ok=True)
    name = {"jcommonsenseqa": "valid.jsonl", "inhouse": "items.jsonl", "jsquad": "valid.json"}[kind]
    path = folder / name
    path.write_bytes(body)
    try:
        if kind == "jcommonsenseqa":
            jcommonsenseqa.load(str(folder))
        elif kind == "jsquad":
            jsquad.load(str(folder))
        else:
            inhouse.load(str(path))
    except SuiteError as exc:
        assert str(folder) in str(exc)
    finally:
        _unchanged(path, body)
        path.unlink()


@FUZZ
@given(body=_lines(TOML_LINES))
def test_custom_settings(body: bytes) -> None:
    _loads_or_names_the_file(WORK / "settings.toml", body, load_custom, InputError)
