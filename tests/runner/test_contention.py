"""The contention check and its rule on a scripted engine whose answers slow by a set factor per number of concurrent
requests (a real engine's slowdown cannot be chosen): twice as slow with one neighbour, with two, or never give
limits 1, 2 and 3 for three models (each far from the 1.15 limit, so no timing noise decides); what ran beside the
main model is counted by the engine; the figures are stored and a settled check is not asked again."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from llamune_eval.analysis.contention import Step, contention, limit_of
from llamune_eval.analysis.speed import Speed
from llamune_eval.config import Config
from llamune_eval.engines import open_engine
from llamune_eval.runner.contention import CheckSet, check
from llamune_eval.runner.measure import Target, measure
from llamune_eval.store import measures
from llamune_eval.store.results import Store
from llamune_eval.types import SamplingParams
from tests.stubs.contended import ContendedServer

MODELS = ["main", "check-a", "check-b"]


def _step(k: int, within: bool) -> Step:
    return Step(k, Speed(1.0, 10.0, 3), 1.0, 1.0, within)


def test_the_limit_counts_the_steps_within_in_order() -> None:
    assert limit_of([]) == 1
    assert limit_of([_step(1, False), _step(2, True)]) == 1  # a step over the limit ends it: running more is worse
    assert limit_of([_step(1, True), _step(2, False)]) == 2
    assert limit_of([_step(1, True), _step(2, True)]) == 3
    assert limit_of([_step(2, True)]) == 1  # a missing step is no evidence


async def _limit(tmp_path: Path, slowdowns: tuple[float, ...]) -> tuple[int, list[float | None], list[int]]:
    with ContendedServer(MODELS, slowdowns, token_s=0.1) as server:
        cfg = Config.model_validate({"engines": [{"kind": "openai", "url": server.url, "max_concurrency": 4}]})
        params = SamplingParams(temperature=0.0, max_tokens=64, num_ctx=2048)
        main, *others = (Target(m, "fast", params) for m in MODELS)
        checked = CheckSet(main, tuple(others))
        with Store(tmp_path / "c.duckdb") as store:
            async with open_engine(cfg) as engine:
                await check(store, "2027-Q1", engine, [checked], probes=3, max_tokens=4, max_slowdown=1.15)
                rows = measures.timings(store, "2027-Q1", "contention")
                again = await check(store, "2027-Q1", engine, [checked], probes=3, max_tokens=4, max_slowdown=1.15)
    assert again == 0  # settled: not asked again
    found = contention(main.label, [o.label for o in others], rows, 1.15)
    assert found is not None and found.alone.ttft_s is not None
    return found.limit, [s.ttft_ratio for s in found.steps], server.others_at_first["main"]


@pytest.mark.parametrize(("slowdowns", "limit"), [((1.0, 2.0), 1), ((1.0, 1.0, 2.0), 2), ((1.0,), 3)])
def test_slowdowns_give_the_limits(tmp_path: Path, slowdowns: tuple[float, ...], limit: int) -> None:
    got, ratios, beside = asyncio.run(_limit(tmp_path, slowdowns))
    assert got == limit, ratios
    steps = min(limit, 2)  # the steps run: up to the first over the limit, at most one per neighbour
    assert len(ratios) == steps  # over the limit at one neighbour: two neighbours are not tried
    # every main answer (warm-up, then step 0, 1, ...) began with exactly its step's neighbours generating
    assert beside == sorted(beside) and set(beside) == set(range(steps + 1)), beside


async def _measured_twice(tmp_path: Path) -> tuple[int, int, int, int]:
    with ContendedServer(["only"], token_s=0.01) as server:
        cfg = Config.model_validate({"engines": [{"kind": "openai", "url": server.url}]})
        targets = [Target("only", p, SamplingParams(temperature=0.0, max_tokens=64)) for p in ("fast", "balanced")]
        with Store(tmp_path / "m.duckdb") as store:
            async with open_engine(cfg) as engine:
                first = await measure(store, "2027-Q1", engine, targets, probes=2, max_tokens=4)
                asked = server.server.count("/v1/chat/completions")
                again = await measure(store, "2027-Q1", engine, targets, probes=2, max_tokens=4)
        return (
            first.timed,
            len(first.footprints),
            asked,
            server.server.count("/v1/chat/completions") - asked + again.timed,
        )


def test_a_server_whose_memory_cannot_be_read_is_timed_once(tmp_path: Path) -> None:
    """An OpenAI-compatible server: the probes are timed (after one warm-up), no memory is claimed, and a resumed
    stage sends nothing at all."""
    timed, footprints, asked, later = asyncio.run(_measured_twice(tmp_path))
    assert (timed, footprints, asked, later) == (4, 0, 5, 0)
