"""The contention check, run after the decision on the engines the quarter used: does running a tier's cross-check
models beside its main model slow the main answer down?

Each model is made ready as a chat user's machine runs it (`probe_session`), warmed up, then the main model answers
the fixed probes alone (step 0) and with its first k cross-check models generating long answers at the same time
(step k = 1 … n). The rule over the figures is `analysis.contention`; every timed probe is stored at once, and a
step already stored is not asked again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from contextlib import AsyncExitStack, suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING

from llamune_eval.analysis.contention import contention, set_id, within
from llamune_eval.analysis.speed import Speed, speed_of
from llamune_eval.engines.engine import Engine
from llamune_eval.engines.machine import this_machine
from llamune_eval.engines.probe import ProbeSession, probe_session
from llamune_eval.runner.measure import Target, timed, warm_up
from llamune_eval.settings import Tier
from llamune_eval.store import measures
from llamune_eval.store.results import Store
from llamune_eval.types import EngineError, Message, SamplingParams, Timing

if TYPE_CHECKING:
    from llamune_eval.analysis import Evidence
    from llamune_eval.config import Config

LONG = "日本の歴史を、古代から現代まで時代ごとに詳しく説明してください。"
NEIGHBOUR_START_S = 120.0  # a neighbour that has not begun answering by then fails the check (a one-line error)


@dataclass(frozen=True)
class CheckSet:
    """A tier's main configuration and its cross-checks in the order the file runs them."""

    main: Target
    neighbours: tuple[Target, ...]

    @property
    def id(self) -> str:
        return set_id(self.main.label, [n.label for n in self.neighbours])


async def _generate(session: ProbeSession, started: asyncio.Event) -> None:
    """A neighbour generating long answers without pause until cancelled."""
    params = SamplingParams(temperature=0.7, max_tokens=512, seed=7)
    while True:
        with suppress(EngineError):
            await session.ask([Message(role="user", content=LONG)], params, on_token=lambda _: started.set())


def settled(s: CheckSet, rows: list[Timing], max_slowdown: float) -> bool:
    """The set's check is complete: alone and every step stored, or stored up to the first step over the limit."""
    found = contention(s.main.label, [n.label for n in s.neighbours], rows, max_slowdown)
    if found is None:
        return False
    return len(found.steps) == len(s.neighbours) or any(not step.within for step in found.steps)


async def check(
    store: Store,
    quarter: str,
    engine: Engine,
    sets: Sequence[CheckSet],
    *,
    probes: int = 3,
    max_tokens: int = 32,
    max_slowdown: float = 1.15,
    advance: Callable[[int], None] | None = None,
) -> int:
    """Measure the sets not settled yet; returns how many probes were timed. A step stops once most of its probes
    are over the limit, and the steps after a step over the limit are not run: the rule stops there. A probe is cut
    at twice the limit of its alone latency."""
    machine = this_machine().model_dump(mode="json")
    count = 0
    for s in sets:
        if settled(s, measures.timings(store, quarter, "contention"), max_slowdown):
            continue
        measures.clear_set(store, quarter, s.id)  # measured again as a whole: one session's figures
        async with AsyncExitStack() as stack:
            main = await stack.enter_async_context(probe_session(engine, s.main.model, s.main.num_ctx))
            others = [await stack.enter_async_context(probe_session(engine, n.model, n.num_ctx)) for n in s.neighbours]
            await warm_up(main, full_batch=False)  # neighbours warm up by generating before the main one is timed
            alone: Speed | None = None
            for k in range(len(s.neighbours) + 1):
                rows = await _step(main, others[:k], s, k, quarter, probes, max_tokens, alone, max_slowdown)
                for t in rows:
                    measures.save_timing(store, t, machine)
                count += len(rows)
                if advance is not None:
                    advance(len(rows))
                now = speed_of(rows)
                if k == 0:
                    alone = now
                elif alone is None or not within(alone, now, max_slowdown)[2]:
                    break  # the limit is settled: the steps after this one cannot raise it
    return count


async def _step(
    main: ProbeSession,
    busy_with: list[ProbeSession],
    s: CheckSet,
    k: int,
    quarter: str,
    probes: int,
    max_tokens: int,
    alone: Speed | None,
    max_slowdown: float,
) -> list[Timing]:
    """The main model's probes with `busy_with` generating beside it."""
    started = [asyncio.Event() for _ in busy_with]
    tasks = [asyncio.create_task(_generate(o, e)) for o, e in zip(busy_with, started, strict=True)]
    usual = alone.latency(max_tokens) if alone is not None else None
    deadline = 2 * max_slowdown * usual + 1.0 if usual else None
    rows: list[Timing] = []
    try:
        if started:  # every neighbour is generating before the main model is timed
            await asyncio.wait_for(asyncio.gather(*(e.wait() for e in started)), NEIGHBOUR_START_S)
        over = 0
        for p in range(probes):
            t = await timed(main, quarter, "contention", s.main, p, max_tokens, deadline, set_id=s.id, step=k)
            rows.append(t)
            if alone is not None and not within(alone, speed_of([t]), max_slowdown)[2]:
                over += 1
                if over > probes // 2:
                    break  # most probes are over the limit: so is the median
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return rows


def sets_of(tiers: Sequence[Tier], ev: Evidence) -> list[CheckSet]:
    """The distinct sets of models the tiers of a (draft) settings file run: main first, then its cross-checks."""
    out: dict[str, CheckSet] = {}
    for tier in tiers:
        if len(tier.models) < 2:
            continue
        found = [ev.configs.get((m.name, m.preset or "")) for m in tier.models]
        if any(c is None for c in found):
            continue
        chosen = [Target(c.model, c.preset, c.params) for c in found if c is not None]
        s = CheckSet(chosen[0], tuple(chosen[1:]))
        out.setdefault(s.id, s)
    return list(out.values())


async def check_decision(
    cfg: Config, store: Store, quarter: str, engine: Engine, tiers: Sequence[Tier], ev: Evidence
) -> tuple[int, int]:
    """Run the contention check for the sets a draft of the quarter's settings chose: (sets, probes timed)."""
    sets = sets_of(tiers, ev)
    timed_count = await check(
        store,
        quarter,
        engine,
        sets,
        probes=cfg.measure.probes,
        max_tokens=cfg.measure.max_tokens,
        max_slowdown=cfg.recommend.max_slowdown,
    )
    return len(sets), timed_count
