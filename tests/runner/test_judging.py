"""The judge stage end to end on the embedded engine, and the reliability figures on known inputs."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest

from llamune_eval.config import Config
from llamune_eval.runner.judging import JudgeSpec, judge
from llamune_eval.runner.sweep import Sweep, sweep
from llamune_eval.scoring import reliability
from llamune_eval.store.results import Store

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def judged_store(tmp_path_factory: pytest.TempPathFactory, smollm2_path: Path) -> tuple[Config, Path]:
    tmp = tmp_path_factory.mktemp("judge")
    cfg = Config.model_validate({
        "engines": [{"kind": "embedded", "models": [{"name": "smol", "path": str(smollm2_path)}], "parallel": 4,
                     "ctx_per_slot": 4096}],
        "paths": {"store": str(tmp / "r.duckdb")},
        "run": {"suites_dir": str(ROOT / "suites"), "presets": ["terse", "warm"]},
        "presets": {"terse": {"base": "fast", "max_tokens": 40}, "warm": {"base": "general", "max_tokens": 40}},
        "judge": {"models": ["smol"], "max_tokens": 160, "rejudge_fraction": 0.5},
    })  # fmt: skip
    import asyncio

    outcome = asyncio.run(sweep(cfg, Sweep(suites=["business-writing"], limit=2, progress=False)))
    outcome.store.close()
    return cfg, tmp / "r.duckdb"


async def test_single_and_reference_grading_is_stored_resumably(judged_store: tuple[Config, Path]) -> None:
    cfg, path = judged_store
    first = await judge(cfg, JudgeSpec(progress=False))
    with Store(path) as store:
        rows = [r for r in store.judgements() if r["mode"] != "pairwise"]
    samples = 4  # 2 items x 2 presets, all judge-scored
    trials = [r for r in rows if r["trial"] == 0]
    assert len(trials) == samples and first.done == len(rows)
    assert {r["mode"] for r in rows} == {"reference"}  # the items carry references and eval aspects
    for r in rows:
        assert r["raw"] or r["error_kind"], "every judgement keeps the judge's raw answer"
        if r["ok"]:
            assert 1 <= r["overall"] <= r["scale"]
        else:
            assert r["overall"] is None  # unparsable: stored as such, never a score
    again = await judge(cfg, JudgeSpec(progress=False))
    assert again.done == 0 and again.skipped == len(rows)
    assert first.figures["judgements"] >= len(rows)


async def test_pairwise_judges_both_orders(judged_store: tuple[Config, Path]) -> None:
    cfg, path = judged_store
    outcome = await judge(cfg, JudgeSpec(mode="pairwise", progress=False))
    with Store(path) as store:
        rows = [r for r in store.judgements() if r["mode"] == "pairwise"]
    assert outcome.done == len(rows) == 4  # 2 items x 1 pair of presets x 2 orders
    by_pair: dict[str, set[str]] = {}
    for r in rows:
        by_pair.setdefault(r["item_id"], set()).add(r["position"])
        assert r["winner"] in ("first", "second", "tie") or not r["ok"]
    assert all(positions == {"ab", "ba"} for positions in by_pair.values())
    assert "position_flip_rate" in outcome.figures


def _row(**kw: object) -> dict[str, object]:
    base = {"mode": "single", "ok": True, "trial": 0, "scale": 10, "judge_model": "j", "sample_key": "s",
            "sample_key_b": None, "judge_family": None, "model_family": None, "answer_chars": 10}  # fmt: skip
    return base | kw


def test_flip_rate_and_outcomes() -> None:
    pair = {"mode": "pairwise", "model": "a", "preset": "p", "model_b": "b", "preset_b": "p", "sample_key_b": "t"}
    rows = [
        _row(**pair, sample_key="1", position="ab", winner="first"),
        _row(**pair, sample_key="1", position="ba", winner="first"),  # consistent: a wins
        _row(**pair, sample_key="2", position="ab", winner="first"),
        _row(**pair, sample_key="2", position="ba", winner="second"),  # flipped: a tie
    ]
    assert reliability.flip_rate(rows) == (0.5, 2)
    assert sorted(reliability.pairwise_outcomes(rows)) == [("a:p", "b:p", 0.5), ("a:p", "b:p", 1.0)]


def test_length_bias_self_preference_and_repeat_variance() -> None:
    rows = [_row(sample_key=str(i), overall=float(i), answer_chars=i * 10) for i in range(1, 8)]
    assert reliability.length_bias(rows) == pytest.approx(1.0)
    fam = [_row(overall=8.0, judge_family="qwen2", model_family="qwen2"),
           _row(overall=4.0, judge_family="qwen2", model_family="llama")]  # fmt: skip
    assert reliability.self_preference(fam) == pytest.approx(0.4)
    rep = [_row(sample_key="x", overall=6.0, trial=0), _row(sample_key="x", overall=8.0, trial=1)]
    assert reliability.repeat_variance(rep) == (2.0, 1)
    assert math.isnan(reliability.self_preference(rows))


def test_quadratic_kappa_and_human_agreement() -> None:
    assert reliability.quadratic_kappa([1, 2, 3, 4, 5], [1, 2, 3, 4, 5]) == pytest.approx(1.0)
    # hand-computed: ratings (1,2),(2,1) -> observed disagreement 2 * w(1), expected from marginals
    assert reliability.quadratic_kappa([1, 2], [2, 1], categories=2) == pytest.approx(-1.0)
    agreement = reliability.human_agreement([(9.0, 10), (3.0, 10), (6.0, 10)], [5, 2, 3])
    assert agreement["spearman"] == pytest.approx(1.0) and agreement["n"] == 3


async def test_human_ratings_csv(judged_store: tuple[Config, Path], tmp_path: Path) -> None:
    cfg, path = judged_store
    with Store(path) as store:
        keys = [r["sample_key"] for r in store.judgements("mode != 'pairwise' AND trial = 0")]
    ratings = tmp_path / "human.csv"
    with ratings.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["sample_key", "rating"])
        for i, key in enumerate(keys):
            writer.writerow([key, 1 + i % 5])
    cfg2 = cfg.model_copy(update={"judge": cfg.judge.model_copy(update={"human_ratings": ratings})})
    outcome = await judge(cfg2, JudgeSpec(progress=False))
    assert "human" in outcome.figures and outcome.figures["human"]["n"] >= 0


def test_panel_disagreement() -> None:
    pair = {"mode": "pairwise", "sample_key": "1", "sample_key_b": "2"}
    rows = [_row(**pair, judge_model="j1", winner="first"), _row(**pair, judge_model="j2", winner="second")]
    assert reliability.panel_disagreement(rows) == 1.0
    same = [_row(**pair, judge_model="j1", winner="first"), _row(**pair, judge_model="j2", winner="first")]
    assert reliability.panel_disagreement(same) == 0.0


def test_panel_majority() -> None:
    pair = {"mode": "pairwise", "sample_key": "1", "sample_key_b": "2", "model": "a", "preset": "p", "model_b": "b",
            "preset_b": "p"}  # fmt: skip
    rows = [_row(**pair, judge_model=j, position=pos, winner=w)
            for j, w in (("j1", "first"), ("j2", "first"), ("j3", "second")) for pos in ("ab", "ba")]  # fmt: skip
    assert reliability.panel_majority(rows) == [{"a": "a:p", "b": "b:p", "a_wins": 1, "b_wins": 0, "ties": 0}]
