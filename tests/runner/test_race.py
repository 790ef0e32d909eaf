"""A raced sweep on the real llama.cpp engine: the two bundled models over the shared JGLUE validation data with a
small budget. The stops are stored with the quarter, every configuration answered the same stratified prefix of the
seeded order, the budget is kept, and running the same command again sends nothing and stores the same race."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from llamune_eval.analysis.racing import RaceRule, item_order
from llamune_eval.config import Config
from llamune_eval.engines import Engine, bundled, open_engine
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
    async with open_engine(cfg) as engine:  # the two models start once for the three runs
        await _three_runs(cfg, engine)


async def _three_runs(cfg: Config, engine: Engine) -> None:
    rule = RaceRule(batch=2, warmup=4, min_items=2)
    # a race cut short (here by a smaller budget, as by a kill) and then run again continues the same race
    first = await sweep(cfg, Sweep(quarter="2026-Q4", race=RaceSpec(budget=8, rule=rule)), engine=engine)
    with first.store as store:
        assert {r.items for r in race_rows(store, "2026-Q4")} == {2}
        earlier = {s.key for s in store.samples()}
    outcome = await sweep(cfg, Sweep(quarter="2026-Q4", race=RaceSpec(budget=16, rule=rule)), engine=engine)
    with outcome.store as store:
        assert outcome.race is not None
        rows = race_rows(store, "2026-Q4")
        samples = store.samples()
    assert len(earlier) == 8 and earlier < {s.key for s in samples}  # every earlier answer kept, none again
    assert outcome.stats.done == len(samples) - 8
    configs = {(r.model, r.preset) for r in rows}
    assert configs == {("smol", "fast"), ("smol", "balanced"), ("qwen", "fast"), ("qwen", "balanced")}
    order = item_order({s: _ids(cfg, s) for s in SUITES}, seed=11)
    assert {r.total for r in rows} == {len(order)} and len(order) > 3500  # the race chose from every item
    assert all(r.seed == 11 and r.budget == 16 for r in rows)
    # four configurations, 16 requests: 4 items each, in batches of 2, unless one was settled sooner
    assert sum(r.items for r in rows) == outcome.race.spent == len(samples) <= 16
    assert all(r.reason in ("budget", "settled-worse", "settled-best", "cannot-replace") for r in rows)
    assert all(r.by is not None for r in rows if r.reason == "settled-worse")
    # what each configuration answered is the first `items` of the seeded, stratified order
    for r in rows:
        got = sorted((s.suite, s.item_id) for s in samples if (s.model, s.preset) == (r.model, r.preset))
        assert got == sorted(order[: r.items])
    assert {s.status for s in samples} == {"ok"}

    again = await sweep(cfg, Sweep(quarter="2026-Q4", race=RaceSpec(budget=16, rule=rule)), engine=engine)
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
        rule = RaceRule(batch=2, warmup=4)
        spec = Sweep(suites=["jcommonsenseqa"], limit=4, quarter="2026-Q4", race=RaceSpec(rule=rule))
        outcome = asyncio.run(sweep(cfg, spec))
        outcome.store.close()
        bodies = stub.models["smol:135m"].bodies
    assert outcome.race is not None and outcome.race.spent == 2 * 4  # two batches of two items, two presets
    assert sum(1 for b in bodies if not b.get("messages")) == 1  # one load
    answered = [b for b in bodies if b.get("messages") and len(b["messages"]) > 1]
    assert len(answered) == outcome.race.spent  # every raced request reached the engine once


def test_items_the_judge_grades_are_answered_in_full_outside_the_race(tmp_path: Path, smollm2_server: Any) -> None:
    """A judged answer has no value until the judge stage: every configuration answers those items, from the same
    budget, and the race's order holds only the items scored as they arrive."""
    import asyncio
    import shutil

    suites = tmp_path / "suites"
    shutil.copytree(ROOT / "suites" / "jcommonsenseqa", suites / "jcommonsenseqa")
    (suites / "memo").mkdir()
    (suites / "memo" / "suite.yaml").write_text("name: memo\nscoring: judge\nmax_tokens: 16\nitems: items.jsonl\n")
    memo = [{"id": f"m{i}", "input": f"{i}月の予定を一文で書いてください。"} for i in (1, 2)]
    (suites / "memo" / "items.jsonl").write_text("\n".join(json.dumps(m, ensure_ascii=False) for m in memo) + "\n")
    cfg = Config.model_validate({
        "engines": [{"kind": "openai", "url": smollm2_server.url, "max_concurrency": 2}],
        "paths": {"store": str(tmp_path / "r.duckdb"), "recommended": str(tmp_path / "recommended")},
        "run": {"suites_dir": str(suites), "presets": ["fast", "creative"]},
    })  # fmt: skip
    spec = Sweep(limit=2, quarter="2026-Q4", race=RaceSpec(budget=6))
    outcome = asyncio.run(sweep(cfg, spec))
    with outcome.store as store:
        rows = race_rows(store, "2026-Q4")
        samples = store.samples()
    judged = sorted((s.preset, s.item_id) for s in samples if s.suite == "memo")
    assert judged == [("creative", "m1"), ("creative", "m2"), ("fast", "m1"), ("fast", "m2")]  # all, by both
    raced = {(r.preset, r.reason, r.items, r.total) for r in rows}
    assert raced == {("fast", "budget", 1, 2), ("creative", "budget", 1, 2)}
    assert sum(1 for s in samples if s.suite == "jcommonsenseqa") == 2  # 6 requests: 4 judged, 2 raced
    assert {r.spent for r in rows} == {6} and outcome.race is not None and outcome.race.full == 8


def test_a_race_killed_mid_batch_resumes_without_losing_or_repeating_an_answer(
    tmp_path: Path, smollm2_server: Any
) -> None:
    """SIGKILL while the race's answers are arriving, then the same command: every answer journaled before the kill
    is kept as it was (same run, same time), none is asked twice, and each configuration ends with a prefix of
    the seeded order."""
    import os
    import signal
    import subprocess
    import sys
    import time

    (tmp_path / "llamune.toml").write_text(
        f'[[engines]]\nkind = "openai"\nurl = "{smollm2_server.url}"\nmax_concurrency = 2\n'
        f'[run]\nsuites_dir = "{ROOT / "suites"}"\npresets = ["fast", "creative"]\nquarter = "2027-Q1"\n'
    )
    command = [sys.executable, "-m", "llamune_eval.cli.main", "run", "-s", "jcommonsenseqa", "--race", "--budget",
               "16", "--sweep-only", "--no-progress", "--json"]  # fmt: skip
    journal = tmp_path / "llamune.duckdb.journal.jsonl"
    child = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (not journal.exists() or journal.read_text().count("\n") < 6):
        time.sleep(0.05)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    kept = [json.loads(line)["row"] for line in journal.read_text().splitlines() if line.strip()]
    assert len(kept) >= 6
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    from llamune_eval.store.results import Store

    with Store(tmp_path / "llamune.duckdb") as store:
        samples = store.samples()
        rows = race_rows(store, "2027-Q1")
    by_key = {s.key: s for s in samples}
    assert len(by_key) == len(samples) == len({(s.item_id, s.preset) for s in samples})  # nothing twice
    for row in kept:  # the answers journaled before the kill, kept as they were
        assert by_key[row["key"]].run_id == row["run_id"]
    assert sum(r.items for r in rows) == len(samples) <= 16
    suite = next(s for s in _suites(tmp_path) if s.name == "jcommonsenseqa")
    order = item_order({"jcommonsenseqa": [i.id for i in suite.items]}, seed=0)
    for r in rows:
        got = sorted(s.item_id for s in samples if s.preset == r.preset)
        assert got == sorted(i for _, i in order[: r.items])


def _suites(folder: Path) -> list[Any]:
    from llamune_eval.benchmarks import load_all, select
    from llamune_eval.config import load

    cfg = load(folder / "llamune.toml")
    return list(load_all(select(cfg, ["jcommonsenseqa"])))


def test_each_tier_is_a_decision_with_its_own_candidates_and_incumbent() -> None:
    """The race's groups: a 16 GB tier holds only what fits in it; last quarter's main is its incumbent only where
    it is a candidate; tiers with the same candidates and incumbent are one decision; the rule is the config's."""
    from llamune_eval.analysis.racing import Group
    from llamune_eval.runner.race import _Speeds, groups, rule_of

    rule = {"tiers": [16, 32, 64], "headroom": 0.75, "alpha": 0.01, "margin": 0.03, "min_items": 50}
    cfg = Config.model_validate({"recommend": rule})  # usable memory: 12, 24 and 48 GB
    gb = 1024**3
    needs = {"small:fast": 4 * gb, "small:creative": 4 * gb, "big:fast": 20 * gb, "huge:fast": 40 * gb}
    spec = RaceSpec(incumbents={16: ("small", "fast"), 32: ("big", "fast"), 64: ("big", "fast")})
    found = groups(cfg, spec, list(needs), needs)
    assert found == [
        Group(frozenset({"small:fast", "small:creative"}), "small:fast"),
        Group(frozenset({"small:fast", "small:creative", "big:fast"}), "big:fast"),
        Group(frozenset(needs), "big:fast"),
    ]
    assert rule_of(cfg) == RaceRule(alpha=0.01, margin=0.03, min_items=50)  # what `race` holds itself to
    speeds = _Speeds(needs, {c: c.split(":")[0] for c in needs})
    for model, seconds in (("small", 0.5), ("small", 0.7), ("big", 2.0)):
        speeds.note(model, seconds)
    assert speeds.may_settle("small:fast", "small:creative")  # one model: quality alone decides
    assert speeds.may_settle("small:fast", "big:fast")  # smaller and faster
    assert not speeds.may_settle("big:fast", "small:fast")  # better quality is not enough: larger and slower
    assert not speeds.may_settle("small:fast", "huge:fast")  # no latency measured for huge yet
