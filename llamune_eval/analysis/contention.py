"""How many of a tier's models may run at once: the contention check's figures and the rule over them.

The tier's main model answers the same probes alone (step 0) and with k = 1 … n of its cross-check models
generating beside it (step k). `concurrentLimit` is 1 + the largest k for which every step up to k keeps the main
model's median TTFT and tokens/s within `[recommend] max_slowdown` of running alone; a check that did not run
leaves 1 (one model at a time cannot slow the main answer down).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from llamune_eval.analysis.speed import Speed, speed_of
from llamune_eval.types import Timing


@dataclass(frozen=True)
class Step:
    k: int  # cross-check models generating beside the main one
    speed: Speed
    ttft_ratio: float | None  # TTFT against alone (> 1: slower)
    speed_ratio: float | None  # tokens/s alone against now (> 1: slower)
    within: bool


@dataclass(frozen=True)
class Contention:
    set_id: str
    main: str
    neighbours: list[str]
    alone: Speed
    steps: list[Step]
    limit: int
    max_slowdown: float


def set_id(main: str, neighbours: Sequence[str]) -> str:
    """The check's key: the main configuration and its cross-checks, in the order they are added."""
    return " + ".join([main, *neighbours])


def within(alone: Speed, now: Speed, max_slowdown: float) -> tuple[float | None, float | None, bool]:
    ttft = now.ttft_s / alone.ttft_s if now.ttft_s and alone.ttft_s else None
    rate = alone.tokens_per_s / now.tokens_per_s if now.tokens_per_s and alone.tokens_per_s else None
    ok = ttft is not None and rate is not None and ttft <= max_slowdown and rate <= max_slowdown
    return ttft, rate, ok


def limit_of(steps: Sequence[Step]) -> int:
    """1 + the largest k reached with every step up to it within the slowdown."""
    limit = 1
    for step in sorted(steps, key=lambda s: s.k):
        if not step.within or step.k != limit:
            break
        limit = step.k + 1
    return limit


def contention(main: str, neighbours: Sequence[str], rows: Iterable[Timing], max_slowdown: float) -> Contention | None:
    """The check of `main` with `neighbours` from its timed probes (None: not measured)."""
    sid = set_id(main, neighbours)
    by_step: dict[int, list[Timing]] = {}
    for t in rows:
        if t.purpose == "contention" and t.set_id == sid:
            by_step.setdefault(t.step, []).append(t)
    if 0 not in by_step:
        return None
    alone = speed_of(by_step[0])
    steps = []
    for k in sorted(s for s in by_step if s > 0):
        now = speed_of(by_step[k])
        ttft, rate, ok = within(alone, now, max_slowdown)
        steps.append(Step(k, now, ttft, rate, ok))
    return Contention(sid, main, list(neighbours), alone, steps, limit_of(steps), max_slowdown)
