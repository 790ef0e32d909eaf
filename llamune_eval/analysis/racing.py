"""Racing: spend a quarter's requests where the decision is still open (design/racing.md).

Every configuration answers the same items in the same seeded, stratified order, so each comparison stays paired.
After each batch the race looks: a configuration that another one beats by more than a confidence sequence allows
stops receiving items ("settled worse"); the race ends when one configuration is left ("settled best"), every item
has been answered, or the budget is spent.

The confidence sequence is Robbins' normal mixture on the paired sum S = sum(w * (a - b)) with the intrinsic time
V = sum((w * (a - b))^2). Under the paired null (a and b exchangeable on every item, the null of the decision rule's
sign-flip and McNemar tests) each term is conditionally symmetric, so S is sub-Gaussian in V and the boundary holds
at every look at once: looking after every batch costs nothing. For right/wrong values V counts the discordant
items, as McNemar's test does. Each comparison is held to alpha / (K - 1): the best configuration (and the
incumbent) can only be stopped by one of its K - 1 rivals, so the chance that it is ever stopped is at most alpha.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from llamune_eval.config import ALPHA

Reason = Literal["settled-worse", "settled-best", "complete", "budget"]


@dataclass(frozen=True)
class RaceRule:
    alpha: float = ALPHA
    batch: int = 50  # items per look, over all suites (stratified)
    rho: float = 30.0  # where the boundary is tightest, in discordant items (design/racing.md)


def boundary(v: float, alpha: float, rho: float) -> float:
    """Robbins' normal-mixture boundary: P(S >= boundary(V) at any time) <= alpha for S sub-Gaussian in V."""
    return math.sqrt((v + rho) * math.log((v + rho) / (rho * alpha * alpha)))


def item_order(items: Mapping[str, Sequence[str]], seed: int) -> list[tuple[str, str]]:
    """Every (suite, item) once, in an order whose every prefix is a stratified sample: each suite shuffled by the
    seed, then interleaved in proportion to the suite's size. The same seed gives the same order (a resumed run
    continues the same race)."""
    shuffled = {}
    for suite in sorted(items):
        ids = list(items[suite])
        random.Random(f"{seed}:{suite}").shuffle(ids)
        shuffled[suite] = ids
    keyed = [((i + 0.5) / len(ids), suite, item) for suite, ids in shuffled.items() for i, item in enumerate(ids)]
    return [(suite, item) for _, suite, item in sorted(keyed)]


@dataclass
class Stop:
    config: str
    reason: Reason
    items: int  # items this configuration answered
    by: str | None = None  # the configuration that settled it worse


@dataclass
class _Pair:
    s: float = 0.0
    v: float = 0.0


@dataclass
class Race:
    """One race over `configs` on `order` (from `item_order`); values are the benchmark's per-sample values on the
    0..1 scale, each suite weighing as much as the others (the decision's quality is the mean over suites)."""

    configs: list[str]
    order: list[tuple[str, str]]
    rule: RaceRule = field(default_factory=RaceRule)
    budget: int | None = None  # requests (items x configurations) the race may spend
    position: int = 0
    spent: int = 0
    stops: dict[str, Stop] = field(default_factory=dict)

    def __post_init__(self) -> None:
        sizes: dict[str, int] = {}
        for suite, _ in self.order:
            sizes[suite] = sizes.get(suite, 0) + 1
        self._weight = {s: 1.0 / (len(sizes) * n) for s, n in sizes.items()}
        self._values: dict[tuple[str, str], dict[str, float]] = {}
        self._pairs = {(a, b): _Pair() for a in self.configs for b in self.configs if a != b}
        self._answered = dict.fromkeys(self.configs, 0)

    @property
    def active(self) -> list[str]:
        return [c for c in self.configs if c not in self.stops]

    @property
    def finished(self) -> bool:
        return len(self.active) <= 1 or self.position >= len(self.order) or self._broke()

    def _broke(self) -> bool:
        return self.budget is not None and self.spent + len(self.active) > self.budget

    def next_batch(self) -> list[tuple[str, str]]:
        """The next items every active configuration answers (fewer at the end, or when the budget runs short)."""
        if self.finished:
            return []
        size = self.rule.batch
        if self.budget is not None:
            size = min(size, (self.budget - self.spent) // max(1, len(self.active)))
        batch = self.order[self.position : self.position + size]
        self.position += len(batch)
        self.spent += len(batch) * len(self.active)
        for c in self.active:
            self._answered[c] += len(batch)
        return batch

    def record(self, config: str, suite: str, item: str, value: float) -> None:
        self._values.setdefault((suite, item), {})[config] = value

    def look(self, batch: Sequence[tuple[str, str]]) -> list[Stop]:
        """Add the batch's paired differences, then stop every configuration settled worse; the stops made. An item
        some active configuration has no value for yet (a judge still to grade it) is left out of every pair."""
        import numpy as np

        active = self.active
        by_suite: dict[str, list[list[float]]] = {}
        for suite, item in batch:
            got = self._values.get((suite, item), {})
            if all(c in got for c in active):
                by_suite.setdefault(suite, []).append([got[c] for c in active])
        for suite, rows in by_suite.items():
            x = np.asarray(rows, dtype=float).T  # active configurations x items
            w = self._weight[suite]
            sums, squares, gram = x.sum(axis=1), (x * x).sum(axis=1), x @ x.T
            for i, a in enumerate(active):
                for j, b in enumerate(active):
                    if i != j:
                        pair = self._pairs[(a, b)]
                        pair.s += w * float(sums[i] - sums[j])
                        pair.v += w * w * float(squares[i] + squares[j] - 2 * gram[i, j])
        level = self.rule.alpha / max(1, len(self.configs) - 1)
        scale = min(self._weight.values())  # the boundary in units of one item of the largest suite
        made: list[Stop] = []
        for loser in active:
            for winner in active:
                if winner == loser:
                    continue
                lead = self._pairs[(winner, loser)]
                if lead.s > 0 and lead.s / scale >= boundary(lead.v / scale**2, level, self.rule.rho):
                    made.append(Stop(loser, "settled-worse", self._answered[loser], winner))
                    break
        for stop in made:
            self.stops[stop.config] = stop
        if self.finished:
            made += self.close()
        return made

    def close(self) -> list[Stop]:
        """Why the configurations still running stopped (the race is over: settled, complete or out of budget)."""
        left = self.active
        if not self.finished:
            return []
        if len(left) == 1:
            reason: Reason = "settled-best"
        elif self.position >= len(self.order):
            reason = "complete"
        else:
            reason = "budget"
        made = [Stop(c, reason, self._answered[c]) for c in left]
        for stop in made:
            self.stops[stop.config] = stop
        return made

    def mean(self, config: str) -> float | None:
        """The configuration's quality on the items it answered (mean over suites of the suite's mean value)."""
        per: dict[str, list[float]] = {}
        for (suite, _), got in self._values.items():
            if config in got:
                per.setdefault(suite, []).append(got[config])
        if not per:
            return None
        return sum(sum(v) / len(v) for v in per.values()) / len(per)
