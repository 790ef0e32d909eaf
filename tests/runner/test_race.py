"""A raced sweep on the real llama.cpp engine: the two bundled models over the shared JGLUE validation data with a
small budget. The stops are stored with the quarter, every configuration answered the same stratified prefix of the
seeded order, the budget is kept, and running the same command again sends nothing and stores the same race."""

from __future__ import annotations

from pathlib import Path

import pytest

from llamune_eval.analysis.racing import RaceRule, item_order
from llamune_eval.config import Config
from llamune_eval.engines import bundled
from llamune_eval.runner.race import RaceSpec
from llamune_eval.runner.sweep import Sweep, sweep
from llamune_eval.store.races import race_rows

ROOT = Path(__file__).resolve().parents[2]
JGLUE = ROOT.parent / "shared" / "data" / "jglue"
pytestmark = pytest.mark.skipif(not JGLUE.is_dir(), reason="the shared JGLUE data is not beside the project")
SUITES = ("jcommonsenseqa", "jnli")


def _config(tmp_path: Path, smollm2_path: Path) -> Config:
    if not bundled.available(bundled.QWEN_CODER):
        pytest.skip(f"second model not installed: {bundled.QWEN_CODER.pip}")
    models = [
        {"name": "smol", "path": str(smollm2_path)},
        {"name": "qwen", "path": str(bundled.model_file(bundled.QWEN_CODER))},
    ]
    return Config.model_validate({
        "engines": [{"kind": "embedded", "models": models, "parallel": 2, "ctx_per_slot": 2048}],
        "paths": {"store": str(tmp_path / "r.duckdb"), "data": str(tmp_path / "no-data"),
                  "recommended": str(tmp_path / "recommended")},
        "run": {"suites_dir": str(tmp_path / "none"), "presets": ["fast", "balanced"], "seed": 11},
        "suites": {name: {"source": str(JGLUE / name)} for name in SUITES},
    })  # fmt: skip


async def test_a_budgeted_race_stores_its_stops_and_resumes_without_asking_again(
    tmp_path: Path, smollm2_path: Path
) -> None:
    cfg = _config(tmp_path, smollm2_path)
    rule = RaceRule(batch=6, warmup=12, min_items=3)
    spec = Sweep(quarter="2026-Q4", race=RaceSpec(budget=48, rule=rule))
    outcome = await sweep(cfg, spec)
    with outcome.store as store:
        assert outcome.race is not None
        rows = race_rows(store, "2026-Q4")
        samples = store.samples()
    configs = {(r.model, r.preset) for r in rows}
    assert configs == {("smol", "fast"), ("smol", "balanced"), ("qwen", "fast"), ("qwen", "balanced")}
    order = item_order({s: _ids(cfg, s) for s in SUITES}, seed=11)
    assert {r.total for r in rows} == {len(order)} and len(order) > 3500  # the race chose from every item
    assert all(r.seed == 11 and r.budget == 48 for r in rows)
    # four configurations, 48 requests: 12 items each, in batches of 6, unless one was settled sooner
    assert sum(r.items for r in rows) == outcome.race.spent == len(samples) <= 48
    assert all(r.reason in ("budget", "settled-worse", "settled-best", "cannot-replace") for r in rows)
    assert all(r.by is not None for r in rows if r.reason == "settled-worse")
    # what each configuration answered is the first `items` of the seeded, stratified order
    for r in rows:
        got = sorted((s["suite"], s["item_id"]) for s in samples if (s["model"], s["preset"]) == (r.model, r.preset))
        assert got == sorted(order[: r.items])
    assert {s["status"] for s in samples} == {"ok"}

    again = await sweep(cfg, Sweep(quarter="2026-Q4", race=RaceSpec(budget=48, rule=rule)))
    with again.store as store:
        assert again.stats.done == 0  # every answer read back from the store: nothing sent
        assert race_rows(store, "2026-Q4") == rows
        assert len(store.samples()) == len(samples)


def _ids(cfg: Config, suite: str) -> list[str]:
    from llamune_eval.benchmarks import load_all, select

    return [i.id for s in load_all(select(cfg, [suite])) for i in s.items]
