"""Loaders on the real JGLUE files in ../shared/data/jglue/ and on our sample suites."""

from __future__ import annotations

from pathlib import Path

import pytest

from llamune_eval.benchmarks import jcommonsenseqa, jnli, jsquad, jsts
from llamune_eval.benchmarks.inhouse import load as load_inhouse

ROOT = Path(__file__).resolve().parents[2]
JGLUE = ROOT.parent / "shared" / "data" / "jglue"
SUITES = ROOT / "suites"


def _real(name: str) -> str:
    path = JGLUE / name
    if not path.exists():
        pytest.skip(f"real JGLUE data not found at {path} (it lives beside the project, in shared/)")
    return str(path)


def test_real_jcommonsenseqa() -> None:
    suite = jcommonsenseqa.load(_real("jcommonsenseqa"), shots=3)
    assert len(suite.items) == 1119 and len(suite.few_shot) == 6
    first = suite.items[0]
    assert first.id == "8939" and first.reference == 2 and "マザーボード" in first.turns[0]
    assert suite.task.score(first, ["2"]).values["correct"] == 1.0
    assert suite.task.score(first, ["たぶん 1"]).values["correct"] == 0.0
    assert not suite.task.score(first, ["わからない"]).parse_ok


def test_real_jnli_holds_few_shot_apart() -> None:
    suite = jnli.load(_real("jnli"), shots=3)
    assert len(suite.items) == 2434 - 3
    shots = {m.content for m in suite.few_shot if m.role == "user"}
    assert not shots & {i.turns[0] for i in suite.items}, "a few-shot example must never be scored"
    assert [m.content for m in suite.few_shot if m.role == "assistant"] == ["entailment", "contradiction", "neutral"]


def test_real_jsts_and_jsquad() -> None:
    sts = jsts.load(_real("jsts"))
    assert len(sts.items) == 1457 and all(0 <= i.reference <= 5 for i in sts.items)
    squad = jsquad.load(_real("jsquad"))
    assert len(squad.items) == 4442
    assert all(2 <= len(i.reference) <= 3 for i in squad.items)
    first = squad.items[0]
    score = squad.task.score(first, [first.reference[0]])
    assert score.values == {"em": 1.0, "f1": 1.0}


def test_sample_suites_load_with_20_to_30_items() -> None:
    loaded = [jcommonsenseqa.load(str(SUITES / "jcommonsenseqa")), jnli.load(str(SUITES / "jnli")),
              jsts.load(str(SUITES / "jsts")), jsquad.load(str(SUITES / "jsquad")),
              load_inhouse(str(SUITES / "business-writing" / "suite.yaml")),
              load_inhouse(str(SUITES / "extraction" / "suite.yaml"))]  # fmt: skip
    for suite in loaded:
        assert 20 <= len(suite.items) <= 30, suite.name
        assert suite.version and suite.template_version
    extraction = loaded[-1]
    assert {i.scoring for i in extraction.items} == {"contains", "exact", "regex", "json_schema", "choice"}
    writing = loaded[-2]
    assert any(len(i.turns) == 2 for i in writing.items) and writing.default_preset == "general"


def test_versions_change_with_the_data(tmp_path: Path) -> None:
    src = (SUITES / "jsts" / "valid.jsonl").read_text(encoding="utf-8")
    (tmp_path / "valid.jsonl").write_text(src, encoding="utf-8")
    before = jsts.load(str(tmp_path)).version
    (tmp_path / "valid.jsonl").write_text(src.replace('"label": 5.0', '"label": 4.9', 1), encoding="utf-8")
    assert jsts.load(str(tmp_path)).version != before


def test_hub_dataset_layout_via_datasets(tmp_path: Path) -> None:
    """A datasets-format copy (as the hub's shunk031/JGLUE publishes it: class-label ints) loads offline."""
    datasets = pytest.importorskip("datasets")
    features = datasets.Features({
        "sentence_pair_id": datasets.Value("string"), "yjcaptions_id": datasets.Value("string"),
        "sentence1": datasets.Value("string"), "sentence2": datasets.Value("string"),
        "label": datasets.ClassLabel(names=["entailment", "contradiction", "neutral"]),
    })  # fmt: skip
    rows = [{"sentence_pair_id": str(i), "yjcaptions_id": "x", "sentence1": f"文{i}", "sentence2": "文",
             "label": i % 3} for i in range(9)]  # fmt: skip
    datasets.DatasetDict({"validation": datasets.Dataset.from_list(rows, features=features)}).save_to_disk(
        str(tmp_path / "jnli")
    )
    suite = jnli.load(f"hf:{tmp_path / 'jnli'}", shots=3)
    assert len(suite.items) == 6
    assert {i.reference for i in suite.items} == {"entailment", "contradiction", "neutral"}


def test_hub_id_not_in_cache_is_a_clear_offline_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    pytest.importorskip("datasets")
    from llamune_eval.benchmarks import SuiteError

    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    with pytest.raises(SuiteError, match="offline"):
        jnli.load("hf:llamune/definitely-not-cached:JNLI")
