"""A raced sweep on the real llama.cpp engine: the two bundled models over the shared JGLUE validation data with a
small budget. The stops are stored with the quarter, every configuration answered the same stratified prefix of the
seeded order, the budget is kept, and running the same command again sends nothing and stores the same race."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from llamune_eval.analysis.racing import RaceRule, item_order
from llamune_eval.config import Config
from llamune_eval.engines import bundled
from llamune_eval.runner.race import RaceSpec
from llamune_eval.runner.sweep import Sweep, sweep
from llamune_eval.store.races import race_rows
from tests.conftest import SMOL_CTX
from tests.stubs.ollama_server import OllamaModel, OllamaStub

ROOT = Path(__file__).resolve().parents[2]
JGLUE = ROOT.parent / "shared" / "data" / "jglue"
SHARED = pytest.mark.skipif(not JGLUE.is_dir(), reason="the shared JGLUE data is not beside the project")
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


@SHARED
async def test_a_budgeted_race_stores_its_stops_and_resumes_without_asking_again(
    tmp_path: Path, smollm2_path: Path
) -> None:
    cfg = _config(tmp_path, smollm2_path)
    rule = RaceRule(batch=4, warmup=8, min_items=2)
    spec = Sweep(quarter="2026-Q4", race=RaceSpec(budget=32, rule=rule))
    outcome = await sweep(cfg, spec)
    with outcome.store as store:
        assert outcome.race is not None
        rows = race_rows(store, "2026-Q4")
        samples = store.samples()
    configs = {(r.model, r.preset) for r in rows}
    assert configs == {("smol", "fast"), ("smol", "balanced"), ("qwen", "fast"), ("qwen", "balanced")}
    order = item_order({s: _ids(cfg, s) for s in SUITES}, seed=11)
    assert {r.total for r in rows} == {len(order)} and len(order) > 3500  # the race chose from every item
    assert all(r.seed == 11 and r.budget == 32 for r in rows)
    # four configurations, 32 requests: 8 items each, in batches of 4, unless one was settled sooner
    assert sum(r.items for r in rows) == outcome.race.spent == len(samples) <= 32
    assert all(r.reason in ("budget", "settled-worse", "settled-best", "cannot-replace") for r in rows)
    assert all(r.by is not None for r in rows if r.reason == "settled-worse")
    # what each configuration answered is the first `items` of the seeded, stratified order
    for r in rows:
        got = sorted((s["suite"], s["item_id"]) for s in samples if (s["model"], s["preset"]) == (r.model, r.preset))
        assert got == sorted(order[: r.items])
    assert {s["status"] for s in samples} == {"ok"}

    again = await sweep(cfg, Sweep(quarter="2026-Q4", race=RaceSpec(budget=32, rule=rule)))
    with again.store as store:
        assert again.stats.done == 0  # every answer read back from the store: nothing sent
        assert race_rows(store, "2026-Q4") == rows
        assert len(store.samples()) == len(samples)


def _ids(cfg: Config, suite: str) -> list[str]:
    from llamune_eval.benchmarks import load_all, select

    return [i.id for s in load_all(select(cfg, [suite])) for i in s.items]


def test_an_ollama_model_is_loaded_once_per_race_not_once_per_batch(
    tmp_path: Path, smollm2_path: Path, smollm2_server: Any
) -> None:
    """Ollama's load request (and its measure of parallel slots) happens once per model and run: a race's batches
    reuse it. Against the Ollama-protocol test server, llama.cpp behind it."""
    import asyncio

    with OllamaStub([OllamaModel("smol:135m", smollm2_path, smollm2_server.url, SMOL_CTX)]).start() as stub:
        cfg = Config.model_validate({
            "engines": [{"kind": "ollama", "url": stub.url}],
            "paths": {"store": str(tmp_path / "r.duckdb"), "recommended": str(tmp_path / "recommended")},
            "run": {"suites_dir": str(ROOT / "suites"), "presets": ["fast", "creative"]},
        })  # fmt: skip
        rule = RaceRule(batch=4, warmup=8)
        spec = Sweep(suites=["jcommonsenseqa"], limit=12, quarter="2026-Q4", race=RaceSpec(rule=rule))
        outcome = asyncio.run(sweep(cfg, spec))
        outcome.store.close()
        bodies = stub.models["smol:135m"].bodies
    assert outcome.race is not None and outcome.race.spent > 2 * 4  # several batches went out
    assert sum(1 for b in bodies if not b.get("messages")) == 1  # one load
    answered = [b for b in bodies if b.get("messages") and len(b["messages"]) > 1]
    assert len(answered) == outcome.race.spent  # every raced request reached the engine once


def test_items_the_judge_grades_are_answered_in_full_outside_the_race(tmp_path: Path, smollm2_server: Any) -> None:
    """A judged answer has no value until the judge stage: every configuration answers those items, from the same
    budget, and the race's order holds only the items scored as they arrive."""
    import asyncio

    cfg = Config.model_validate({
        "engines": [{"kind": "openai", "url": smollm2_server.url, "max_concurrency": 2}],
        "paths": {"store": str(tmp_path / "r.duckdb"), "recommended": str(tmp_path / "recommended")},
        "run": {"suites_dir": str(ROOT / "suites"), "presets": ["fast", "creative"]},
    })  # fmt: skip
    spec = Sweep(suites=["business-writing", "jcommonsenseqa"], limit=2, quarter="2026-Q4", race=RaceSpec(budget=6))
    outcome = asyncio.run(sweep(cfg, spec))
    with outcome.store as store:
        rows = race_rows(store, "2026-Q4")
        samples = store.samples()
    judged = sorted((s["preset"], s["item_id"]) for s in samples if s["suite"] == "business-writing")
    assert [p for p, _ in judged] == ["creative", "creative", "fast", "fast"]  # both items, both configurations
    assert {(r.preset, r.reason, r.items, r.total) for r in rows} == {
        ("fast", "budget", 1, 2),
        ("creative", "budget", 1, 2),
    }
    assert sum(1 for s in samples if s["suite"] == "jcommonsenseqa") == 2  # 6 requests: 4 judged, 2 raced
    assert {r.spent for r in rows} == {6} and outcome.race is not None and outcome.race.full == 8
