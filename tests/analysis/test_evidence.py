"""The one view of the evidence: the selection rule, answers that fail or cannot be read counting at the floor, and
the leaderboard, the report and the settings file reading the same numbers."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from fixtures.synth import synthesize
from llamune_eval import jsonio
from llamune_eval.analysis import Evidence, leaderboard
from llamune_eval.config import Config
from llamune_eval.presets import BUILTIN
from llamune_eval.records import Sample
from llamune_eval.store.results import SAMPLE_COLUMNS, SampleRecord, Store, now


def _put(store: Store, rows: list[tuple[dict[str, Any], dict[str, float]]]) -> None:
    writer = store.writer()
    for extra, scores in rows:
        row = {c: None for c in SAMPLE_COLUMNS} | {
            "run_id": "r", "suite": "jnli", "suite_version": "v1", "template_version": "t", "kind": "jnli",
            "category": "reasoning", "model": "m", "model_digest": "d", "preset": "fast", "params": "{}",
            "repeat": 0, "status": "ok", "parse_ok": True, "latency_s": 1.0, "created_at": now(),
        } | extra  # fmt: skip
        row["key"] = row.get("key") or "-".join(str(row[k]) for k in ("suite", "suite_version", "model", "preset",
                                                                          "params", "item_id"))  # fmt: skip
        writer.put(SampleRecord(Sample.model_validate(row), scores))
    writer.close()


def test_the_selection_is_per_quarter_and_takes_the_newest_versions_and_parameters(tmp_path: Path) -> None:
    with Store(tmp_path / "s.duckdb") as store:
        for run, quarter in (("old", "2026-Q4"), ("new", "2027-Q1")):
            store.begin_run(run, {}, [], {}, 0, 0, quarter)
            store.end_run(run, "finished")
        _put(store, [({"run_id": "old", "item_id": str(i)}, {"correct": 0.0}) for i in range(4)])
        _put(store, [({"run_id": "new", "suite_version": "v2", "item_id": str(i)}, {"correct": 1.0})
                     for i in range(4)])  # fmt: skip
        _put(
            store,
            [
                ({"run_id": "new", "suite_version": "v2", "item_id": str(i), "params": '{"seed": 5}'}, {"correct": 0.5})
                for i in range(2)
            ],
        )  # the preset edited: only its newest samples count
        then, now_ = Evidence.load(store, "2026-Q4"), Evidence.load(store, "2027-Q1")
    assert [r.suite_version for r in then.rows] == ["v1"] * 4
    assert then.configs[("m", "fast")].suites["jnli"].value == 0.0
    assert {(r.suite_version, r.params) for r in now_.rows} == {("v2", '{"seed": 5}')} and len(now_.rows) == 2
    assert now_.configs[("m", "fast")].suites["jnli"].value == 0.5


def test_the_configurations_parameters_are_the_presets_not_a_requests_cap(tmp_path: Path) -> None:
    own = BUILTIN["balanced"].params
    sent = own.model_copy(update={"max_tokens": 8, "seed": 0})
    with Store(tmp_path / "s.duckdb") as store:
        _put(store, [({"item_id": "1", "preset": "balanced", "params": sent.model_dump_json(),
                       "preset_params": own.model_dump_json()}, {"correct": 1.0})])  # fmt: skip
        _put(store, [({"item_id": "1", "preset": "mine", "params": sent.model_dump_json()}, {"correct": 1.0})])
        ev = Evidence.load(store, presets={"mine": BUILTIN["code"]})
    assert ev.configs[("m", "balanced")].params == own and ev.configs[("m", "balanced")].params_note is None
    legacy = ev.configs[("m", "mine")]  # stored before the preset's parameters were: read from the config
    assert legacy.params == BUILTIN["code"].params and legacy.params_note is not None


def test_failed_and_unreadable_answers_count_at_the_floor(tmp_path: Path) -> None:
    with Store(tmp_path / "s.duckdb") as store:
        _put(store, [({"item_id": "1"}, {"correct": 1.0}), ({"item_id": "2", "parse_ok": False}, {"correct": 0.0}),
                     ({"item_id": "3", "status": "error", "error_kind": "timeout"}, {})])  # fmt: skip
        _put(store, [({"suite": "jsts", "kind": "jsts", "item_id": str(i), "parse_ok": False,
                       "reference": str(g)}, {"gold": g}) for i, g in enumerate([0.5, 2.0, 4.5])])  # fmt: skip
        ev = Evidence.load(store)
    c = ev.configs[("m", "fast")]
    jnli, jsts = c.suites["jnli"], c.suites["jsts"]
    assert (jnli.value, jnli.n, jnli.errors, jnli.parse_failures) == (pytest.approx(1 / 3), 3, 1, 1)
    assert jsts.value == 0.0 and jsts.unit == 0.0 and jsts.note is not None and "constant" in jsts.note
    assert jsts.parse_failures == 3 and ev.counted_suites() == ["jnli", "jsts"]  # never absent
    assert ev.quality(c) == pytest.approx((1 / 3 + 0.0) / 2)
    assert not any(isinstance(v, float) and math.isnan(v) for v in (jsts.value, jsts.unit, jsts.low, jsts.high))


def test_an_unreadable_jsts_answer_lowers_the_correlation(tmp_path: Path) -> None:
    golds = [0.5, 1.0, 2.0, 3.0, 4.0, 4.5]
    with Store(tmp_path / "s.duckdb") as store:
        _put(store, [({"suite": "jsts", "kind": "jsts", "item_id": str(i)}, {"pred": g, "gold": g})
                     for i, g in enumerate(golds[:-1])])  # fmt: skip
        _put(store, [({"suite": "jsts", "kind": "jsts", "item_id": "5", "parse_ok": False}, {"gold": golds[-1]})])
        ev = Evidence.load(store)
    jsts = ev.configs[("m", "fast")].suites["jsts"]
    assert jsts.others["pearson_answered"] == pytest.approx(1.0)  # the old figure left the unreadable one out
    assert jsts.value is not None and jsts.value < 0.6  # counted at the floor prediction -2.0, it costs
    assert jsts.value == pytest.approx(_pearson([*golds[:-1], -2.0], golds))


def _pearson(x: list[float], y: list[float]) -> float:
    mx, my = sum(x) / len(x), sum(y) / len(y)
    cov = sum((a - mx) * (b - my) for a, b in zip(x, y, strict=True))
    return cov / math.sqrt(sum((a - mx) ** 2 for a in x) * sum((b - my) ** 2 for b in y))


def test_leaderboard_report_and_settings_read_the_same_numbers(tmp_path: Path) -> None:
    from llamune_eval.recommend import build
    from llamune_eval.report import collect

    store_path = tmp_path / "s.duckdb"
    synthesize(store_path, 2400, seed=2)
    cfg = Config.model_validate(
        {
            "paths": {"store": str(store_path), "recommended": str(tmp_path / "rec"), "reports": str(tmp_path / "rep")},
            "recommend": {"min_items": 10},
        }
    )
    with Store(store_path) as store:
        board = {(r.suite, r.model, r.preset): r for r in leaderboard(Evidence.load(store, "2026-Q4"))}
        report = collect(store, cfg, "2026-Q4")
        settings = build(store, cfg, "2026-Q4", [], cfg.paths.recommended)
    assert [len(suite["rows"]) for suite in report["leaderboard"]] == [12] * 6  # every configuration on every suite
    for suite in report["leaderboard"]:
        for e in suite["rows"]:
            row = board[(suite["suite"], e["model"], e["preset"])]
            assert (e["value"], e["ci"], e["n"], e["metric"]) == (row.value, [row.ci_low, row.ci_high], row.n,
                                                                  row.metric)  # fmt: skip
    # three tiers, four suites: the two judged ones are not counted until people check the judge
    assert [len(t["main"]["suites"]) for t in settings["evidence"]["tiers"]] == [4] * 3
    assert {n["suite"] for n in settings["evidence"]["notCounted"]} == {"business-writing", "extraction"}
    for tier in settings["evidence"]["tiers"]:
        main = tier["main"]
        point = next(p for p in report["configs"] if p["label"] == main["config"])
        assert point["quality"] == pytest.approx(main["quality"])
        for s in main["suites"]:
            row = board[(s["suite"], main["model"], main["preset"])]
            assert (s["value"], s["ci"], s["n"]) == (row.value, [row.ci_low, row.ci_high], row.n)
    jsonio.loads(jsonio.dumps(report))  # strict JSON, NaN nowhere
