"""The judge, usage and contention sections are typed (`report.figures`, `document.ContentionCheck`) and hold the
producers' figures under the producers' keys, values unchanged; a key a producer renames fails the report's build."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from fixtures.synth import synthesize
from llamune_eval import jsonio
from llamune_eval.analysis import Evidence
from llamune_eval.config import Config
from llamune_eval.report.collect import contention_section, judge_section, usage_section
from llamune_eval.report.figures import JudgeFigures, UsageSection
from llamune_eval.report.summary_shapes import Summary
from llamune_eval.scoring.reliability import judge_figures
from llamune_eval.store.results import Store
from llamune_eval.usage import ingest, usage_metrics


def _events(path: Path) -> Path:
    """Six answers of model m in 2026-Q3 (the last one rated +1, every other one a /retry) and one in 2026-Q2."""
    events = [{"event_id": f"e{i}", "session_id": "s1", "turn": i // 2, "kind": "retry" if i % 2 else "main",
               "model": "m", "preset": "fast" if i % 2 else "balanced", "success": i != 2, "latency_s": 1.0 + i,
               "adopted": i % 4 == 1 if i % 2 else i % 4 != 1, "rating": 1 if i == 5 else None,
               "comment": "良い" if i == 5 else None, "category": "general",
               "created_at": f"2026-0{i + 4}-01T10:00:00" if i == 0 else f"2026-08-0{i}T10:00:00"}
              for i in range(7)]  # fmt: skip
    path.write_text("\n".join(json.dumps(e, ensure_ascii=False) for e in events) + "\n", encoding="utf-8")
    return path


def test_usage_section_is_usage_metrics_of_the_period_before(tmp_path: Path) -> None:
    with Store(tmp_path / "s.duckdb") as store:
        assert usage_section(store, "2026-Q4", seed=0) is None  # no events: no section
        ingest(store, [_events(tmp_path / "events.jsonl")])
        section = usage_section(store, "2026-Q4", seed=0)
        expected = usage_metrics(store, "2026-Q3", seed=0)
    assert isinstance(section, UsageSection)
    assert section.period == "2026-Q3" and section.events_per_quarter == {"2026-Q2": 1, "2026-Q3": 6}
    assert section.model_usage["m"].count == 6 and section.user_feedback.comments == ["良い"]
    dumped = section.model_dump(by_alias=True)
    assert dumped == expected | {"period": "2026-Q3", "eventsPerQuarter": {"2026-Q2": 1, "2026-Q3": 6}}
    assert [type(k["target"]) for k in dumped["kpis"]] == [int, int, float]  # the targets as configured
    with pytest.raises(ValidationError, match="activeUser"):  # a renamed key is an error, not a blank
        UsageSection.model_validate(dumped | {"users": dumped["users"] | {"activeUser": 1}})


def test_judge_section_holds_judge_figures_as_computed(tmp_path: Path) -> None:
    cfg = Config.model_validate({"paths": {"store": str(tmp_path / "s.duckdb")}})
    synthesize(cfg.paths.store, 300)
    with Store(cfg.paths.store) as store:
        section = judge_section(store, cfg, Evidence.for_quarter(store, cfg, None))
        figures = judge_figures(store.valid_judgements(), cfg)
    assert section is not None and section.judges == ["judge-x"]
    assert [(j.judge, j.parameters) for j in section.small_judges] == [("judge-x", None)]  # of unknown size
    assert section.figures is not None and section.figures.judgements == figures["judgements"] > 0
    dumped = section.figures.model_dump(by_alias=True)
    assert jsonio.clean(dumped) == jsonio.clean({"bradley_terry": None, **figures})  # NaN as null
    assert section.validation is not None  # judged suites: checked against nobody yet
    assert {c.status for c in section.validation.check.suites} == {"unchecked"}
    assert section.scores and all(s.judge == "judge-x" and s.scale == 10 for s in section.scores)
    with pytest.raises(ValidationError, match="judgements"):
        JudgeFigures.model_validate({k: v for k, v in dumped.items() if k != "judgements"})


def _contention(measured: bool) -> dict[str, Any]:
    if not measured:
        return {"measured": False, "note": "未測定", "maxSlowdown": 1.5, "limit": 1}
    step = {"concurrent": 2, "running": ["a:p", "b:p"], "ttftS": 0.3, "tokensPerS": 30.0, "probes": 3,
            "ttftSlowdown": 1.5, "tokensPerSSlowdown": 1.33, "within": True}  # fmt: skip
    return {"measured": True, "main": "a:p", "neighbours": ["b:p"], "maxSlowdown": 1.5,
            "alone": {"ttftS": 0.2, "tokensPerS": 40.0, "probes": 3}, "steps": [step], "limit": 2}  # fmt: skip


def test_contention_checks_are_shared_by_the_tiers_running_the_same_models() -> None:
    checks_by_gb = ((8, None), (16, _contention(True)), (24, _contention(True)), (32, _contention(False)))
    tiers = [{"memoryGB": gb, "evidence": {"contention": c}} for gb, c in checks_by_gb]
    checks = contention_section(Summary.model_validate({"path": "p", "tiers": tiers}))
    assert [(c.measured, c.tiers, c.limit) for c in checks] == [(True, [16, 24], 2), (False, [32], 1)]
    shared = checks[0].model_dump(by_alias=True)
    assert shared["steps"][0]["probes"] == 3 and shared["tiers"] == [16, 24]  # the file's keys kept as written
    assert set(shared) == {"measured", "note", "main", "neighbours", "maxSlowdown", "alone", "steps", "limit", "tiers"}
