"""The settings file is built as typed objects (`settings_evidence`, `settings`) and written by alias: what `build`
returns is exactly the model's dump (no key added, none dropped, nulls and omitted keys as the model was given
them), the file reads back with typed evidence, and an older release's evidence still loads as it was written."""

from __future__ import annotations

from pathlib import Path

from llamune_eval.config import Config
from llamune_eval.recommend import build, publish
from llamune_eval.recommend.shapes import PublishedSettings
from llamune_eval.settings import load_recommended
from llamune_eval.settings_evidence import EvidenceShape
from tests.recommend._store import MODELS, fill, listed
from tests.report import _settings

CFG = Config()


def test_the_file_is_the_models_dump_with_its_omitted_keys_left_out(tmp_path: Path) -> None:
    out = tmp_path / "recommended"
    with fill(tmp_path / "old.duckdb", {"B": MODELS["B"], "C": MODELS["C"]}) as store:
        first = build(store, CFG, "2025-Q4", listed(), out)
        publish(out, first, None)
    assert "update" not in first and "digest" not in first and "signature" not in first  # left out, not null
    assert PublishedSettings.model_validate(first).data() == first
    contention = first["evidence"]["tiers"][0]["contention"]
    assert contention == {"measured": False, "note": "並べて動かすクロスチェックがありません", "limit": 1,
                          "maxSlowdown": CFG.recommend.max_slowdown}  # fmt: skip
    assert first["tiers"][0]["models"][0]["parameters"] == {"temperature": 0.7, "top_p": 0.9, "top_k": 40,
                                                            "max_tokens": 500, "repeat_penalty": 1.1,
                                                            "num_ctx": 4096}  # fmt: skip
    with fill(tmp_path / "new.duckdb", {"A": MODELS["A"], "E": MODELS["E"]}) as store:  # last quarter's main gone
        second = build(store, CFG, "2026-Q1", listed(), out)
    assert PublishedSettings.model_validate(second).data() == second
    details = second["update"]["performanceDetails"]
    assert details and {d["metric"] for d in details} == {"quality", "latency"}
    for d in details:  # against the recorded evidence: no interval, so no low, high or significant keys
        assert d["basis"].startswith("against 2025-Q4's recorded evidence") and not {
            "low",
            "high",
            "significant",
        } & set(d)
    assert second["update"]["oldVersion"] == "2025-Q4" and second["update"]["newVersion"] == "2026-Q1"


def test_a_published_file_reads_back_with_typed_evidence_and_an_older_one_as_written(tmp_path: Path) -> None:
    out = tmp_path / "recommended"
    with fill(tmp_path / "r.duckdb", {"A": MODELS["A"], "E": MODELS["E"]}) as store:
        path, _ = publish(out, build(store, CFG, "2026-Q1", listed(), out), None)
    evidence = load_recommended(path).evidence
    assert isinstance(evidence, EvidenceShape)
    assert [t.main.config for t in evidence.tiers] == ["A:general"] * 3 and evidence.tier(16) is evidence.tiers[0]
    old = _settings.write(tmp_path / "old", _settings.old(), "2026-Q4.preview.json")
    kept = load_recommended(old, allow_preview=True).evidence  # a shape this release does not write: as it was
    assert kept == _settings.old()["evidence"]
