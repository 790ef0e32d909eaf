"""The judge stage end to end on the embedded engine, and the reliability figures on known inputs."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest

from llamune_eval.analysis import Evidence
from llamune_eval.config import Config
from llamune_eval.records import Judgement
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
        "judge": {"models": ["smol"], "max_tokens": 96, "rejudge_fraction": 0.5},
    })  # fmt: skip
    import asyncio

    outcome = asyncio.run(sweep(cfg, Sweep(suites=["business-writing"], limit=1)))
    outcome.store.close()
    return cfg, tmp / "r.duckdb"


async def test_single_and_reference_grading_is_stored_resumably(judged_store: tuple[Config, Path]) -> None:
    cfg, path = judged_store
    first = await judge(cfg, JudgeSpec())
    with Store(path) as store:
        rows = [r for r in store.judgements() if r.mode != "pairwise"]
    samples = 2  # 1 item x 2 presets, all judge-scored
    trials = [r for r in rows if r.trial == 0]
    assert len(trials) == samples and first.done == len(rows)
    assert {r.mode for r in rows} == {"reference"}  # the items carry references and eval aspects
    for r in rows:
        assert r.raw or r.error_kind, "every judgement keeps the judge's raw answer"
        if r.ok:
            assert 1 <= r.overall <= r.scale
        else:
            assert r.overall is None  # unparsable: stored as such, never a score
    again = await judge(cfg, JudgeSpec())
    assert again.done == 0 and again.skipped == len(rows)
    assert first.figures["judgements"] >= len(rows)


async def test_pairwise_judges_both_orders(judged_store: tuple[Config, Path]) -> None:
    cfg, path = judged_store
    outcome = await judge(cfg, JudgeSpec(mode="pairwise"))
    with Store(path) as store:
        rows = [r for r in store.judgements() if r.mode == "pairwise"]
    assert outcome.done == len(rows) == 2  # 1 item x 1 pair of presets x 2 orders
    by_pair: dict[str, set[str]] = {}
    for r in rows:
        by_pair.setdefault(r.item_id, set()).add(r.position)
        assert r.winner in ("first", "second", "tie") or not r.ok
    assert all(positions == {"ab", "ba"} for positions in by_pair.values())
    assert "position_flip_rate" in outcome.figures


def _row(**kw: object) -> Judgement:
    base = {"key": "k", "suite": "s", "item_id": "i", "repeat": 0, "model": "m", "preset": "p", "mode": "single",
            "ok": True, "trial": 0, "scale": 10, "judge_model": "j", "sample_key": "s", "sample_key_b": None,
            "judge_family": None, "model_family": None, "answer_chars": 10}  # fmt: skip
    return Judgement.model_validate(base | kw)


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


async def test_human_ratings_csv(judged_store: tuple[Config, Path], tmp_path: Path) -> None:
    """`[judge] human_ratings` is read where the judge is checked: its people are compared with the first-trial
    readable verdicts of the answers they rated, on the CSV's 1-5 scale."""
    cfg, path = judged_store
    await judge(cfg, JudgeSpec())  # judged here, whatever ran before (resumable: nothing twice)
    with Store(path) as store:
        keys = [r.sample_key for r in store.judgements() if r.mode != "pairwise" and r.trial == 0]
    assert keys
    ratings = tmp_path / "human.csv"
    with ratings.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["sample_key", "rating"])
        for i, key in enumerate(keys):
            writer.writerow([key, 1 + i % 5])
    before = ratings.read_bytes()
    cfg2 = cfg.model_copy(update={"judge": cfg.judge.model_copy(update={"human_ratings": ratings})})
    with Store(path) as store:  # the first-trial verdicts that were readable are the ones compared with people
        readable = {r.sample_key for r in store.judgements()
                    if r.mode != "pairwise" and r.trial == 0 and r.ok and r.sample_key in keys}  # fmt: skip
        ev = Evidence.for_quarter(store, cfg2, None)
    assert ev.judge is not None and ev.judge.evidence.rated_answers == len(readable)
    assert ev.judge.evidence.raters == 1 and ratings.read_bytes() == before  # read, never written
    (check,) = ev.judge.evidence.suites
    assert check.suite == "business-writing" and check.status == "unchecked" and check.kendall.n == len(readable)


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


def _mt_bench_mirror(root: Path) -> Path:
    """Two hand-written questions in Japanese MT-Bench's layout (the real one is pulled on a connected machine):
    a writing question, and a math question whose reference answers are per turn."""
    import json

    folder = root / "mirror" / "japanese-mt-bench"
    folder.mkdir(parents=True)
    questions = [
        {"question_id": 81, "category": "writing", "turns": ["京都旅行の短い紹介文を書いてください。",
                                                            "それを小学生向けに書き直してください。"]},
        {"question_id": 111, "category": "math", "turns": ["2と3を足すといくつですか。", "その答えに4を掛けると？"]},
    ]  # fmt: skip
    (folder / "question.jsonl").write_text("\n".join(json.dumps(q, ensure_ascii=False) for q in questions) + "\n",
                                           encoding="utf-8")  # fmt: skip
    ref = {"question_id": 111, "model_id": "gpt-4", "choices": [{"index": 0, "turns": ["5です。", "20です。"]}]}
    (folder / "reference.jsonl").write_text(json.dumps(ref, ensure_ascii=False) + "\n", encoding="utf-8")
    return root / "mirror"


async def test_mt_bench_every_turn_judged_with_its_reference_and_an_independent_rejudge(
    tmp_path: Path, smollm2_path: Path
) -> None:
    """Japanese MT-Bench as published: both turns judged (the second with the first as context), the math
    question against its per-turn reference, categories kept; every verdict re-judged with another seed at the
    judge's temperature, so the repeat figure is measured, with its n."""
    from llamune_eval.analysis import Evidence
    from llamune_eval.data import expand, pull
    from llamune_eval.runner.judging import plan_jobs

    data = tmp_path / "data"
    pull(expand(["japanese-mt-bench"]), data, mirror=_mt_bench_mirror(tmp_path))
    cfg = Config.model_validate({
        "engines": [{"kind": "embedded", "models": [{"name": "smol", "path": str(smollm2_path)}], "parallel": 4,
                     "ctx_per_slot": 4096}],
        "paths": {"store": str(tmp_path / "r.duckdb"), "data": str(data)},
        "run": {"suites_dir": str(tmp_path / "none"), "presets": ["short"]},
        "presets": {"short": {"base": "fast", "max_tokens": 32}},
        "judge": {"models": ["smol"], "max_tokens": 96, "rejudge_fraction": 1.0, "temperature": 0.7},
    })  # fmt: skip
    outcome = await sweep(cfg, Sweep())
    with outcome.store as store:
        rows = store.samples()
        assert {(r.item_id, r.item_category) for r in rows} == {("81", "writing"), ("111", "math")}
        from llamune_eval.types import ModelInfo

        jobs = plan_jobs(cfg, store, [ModelInfo(name="smol", engine="embedded", endpoint="x")], "auto", False)
    by = {(j.planned.item_id, j.planned.turn, j.planned.trial): j for j in jobs}
    assert sorted(by) == [(q, t, k) for q in ("111", "81") for t in (1, 2) for k in (0, 1)]
    second = by[("111", 2, 0)].messages[-1].content
    assert (
        "2と3を足す" in second and "その答えに4を掛ける" in second and "20です。" in second
    )  # context + its reference
    assert "5です。" not in by[("111", 2, 0)].messages[-1].content.split("【参考回答】")[-1]
    assert by[("81", 1, 0)].planned.mode == "single" and by[("111", 1, 0)].planned.mode == "reference"
    outcome_j = await judge(cfg, JudgeSpec())
    figures = outcome_j.figures
    assert figures["judge_temperature"] == 0.7
    with Store(tmp_path / "r.duckdb") as store:
        judged = store.valid_judgements()
        ev = Evidence.load(store)
    raws = {(r.sample_key, r.turn, r.trial): r.raw for r in judged}
    pairs = {(k, t) for k, t, trial in raws if trial == 1 and (k, t, 0) in raws}
    assert len(pairs) == 4  # 2 items x 2 turns, each judged twice
    assert any(raws[(k, t, 0)] != raws[(k, t, 1)] for k, t in pairs), "a re-judgement is another draw"
    ok = {(r.sample_key, r.turn, r.trial) for r in judged if r.ok}
    assert figures["rejudged"] == sum((k, t, 0) in ok and (k, t, 1) in ok for k, t in pairs)  # its n
    stat = ev.configs[("smol", "short")].suites["japanese-mt-bench"]
    category = {r.key: r.item_category for r in rows}
    assert set(stat.by_category) == {category[k] for k, _, trial in ok if trial == 0}  # MT-Bench's categories kept
