"""Racing: spend a quarter's requests where the decision is still open (design/racing.md).

Every configuration answers the same items in the same seeded, stratified order, so each comparison stays paired.
The race serves decisions (`Group`: a hardware tier's candidates and its incumbent). After each batch it looks:
- a configuration another one has settled worse stops (Robbins' normal-mixture confidence sequence on the paired
  sum, valid at every look at once, each comparison at alpha / (K - 1));
- a challenger that can no longer be shown better than the incumbent by the end of the items stops
  ("cannot-replace": a futility rule, which can only make a replacement rarer, never a false one likelier);
- the incumbent stops when no challenger is left against it, a decision's last configuration when it is alone.
A configuration stops when every decision it takes part in is done with it. The decision itself is the decision
rule's, applied afterwards to what each configuration answered.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any, get_args

from llamune_eval.config import ALPHA
from llamune_eval.settings_evidence import Reason  # the settings file records it

REASONS: tuple[Reason, ...] = get_args(Reason)


@dataclass(frozen=True)
class RaceRule:
    alpha: float = ALPHA  # the decision rule's level
    batch: int = 50  # items per look, over all suites (stratified)
    rho: float = 100.0  # where the boundary is tightest, in discordant items (design/racing.md)
    margin: float = 0.05  # the decision rule's quality margin
    optimism: float = 1.0  # standard errors of benefit of the doubt a challenger gets before it cannot replace
    warmup: int = 200  # items before a challenger may be found unable to replace
    min_items: int = 100  # items per suite a decision's last configuration answers (the rule's minimum evidence)


@dataclass(frozen=True)
class Group:
    """One decision the race serves: the candidates of a hardware tier and its incumbent, if any."""

    members: frozenset[str]
    incumbent: str | None = None


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
    by: str | None = None  # the configuration that settled it worse, or the incumbent it cannot replace


@dataclass
class Race:
    """One race over `configs` on `order` (from `item_order`); values are the benchmark's per-sample values on the
    0..1 scale, each suite weighing as much as the others (the decision's quality is the mean over suites).
    `groups` default to one decision over every configuration without an incumbent; `may_settle(r, c)` says whether
    a better quality of r settles c worse (r is no slower, no larger: the decision's other terms favour it)."""

    configs: list[str]
    order: list[tuple[str, str]]
    rule: RaceRule = field(default_factory=RaceRule)
    budget: int | None = None  # requests (items x configurations) the race may spend
    groups: list[Group] = field(default_factory=list)
    may_settle: Callable[[str, str], bool] | None = None
    position: int = 0
    spent: int = 0
    stops: dict[str, Stop] = field(default_factory=dict)

    def __post_init__(self) -> None:
        import numpy as np

        self.groups = self.groups or [Group(frozenset(self.configs))]
        sizes: dict[str, int] = {}
        for suite, _ in self.order:
            sizes[suite] = sizes.get(suite, 0) + 1
        self._suites = sorted(sizes)
        self._size = np.array([sizes[s] for s in self._suites], dtype=float)
        self._weight = 1.0 / (len(sizes) * self._size)
        k, m = len(self.configs), len(self._suites)
        self._index = {c: i for i, c in enumerate(self.configs)}
        at = {s: i for i, s in enumerate(self._suites)}
        self._prefix = np.cumsum(np.eye(m, dtype=np.int64)[[at[s] for s, _ in self.order]], axis=0)
        self._s = np.zeros((m, k, k))  # per suite: sum of (a - b) over the items both answered
        self._q = np.zeros((m, k, k))  # per suite: sum of (a - b)^2
        self._n = np.zeros((m, k, k))  # per suite: items both answered
        self._values: dict[tuple[str, str], dict[str, float]] = {}
        self._answered = dict.fromkeys(self.configs, 0)
        self._open = [set(g.members) for g in self.groups]  # who each decision still needs
        self._why: dict[str, Stop] = {}  # the last reason a decision gave for letting a configuration go
        for c in self.configs:  # no decision can choose it: it answers nothing
            if not any(c in g.members for g in self.groups):
                self.stops[c] = Stop(c, "fits-no-tier", 0)

    @property
    def active(self) -> list[str]:
        return [c for c in self.configs if c not in self.stops]

    @property
    def finished(self) -> bool:
        return not self.active or self.position >= len(self.order) or self._broke()

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
        """Add the batch's paired differences, then let go of what no decision needs; the stops made. An item some
        active configuration has no value for yet (a judge still to grade it) is left out of every pair."""
        import numpy as np

        active = self.active
        idx = np.array([self._index[c] for c in active])
        rows: dict[int, list[list[float]]] = {}
        suite_at = {s: i for i, s in enumerate(self._suites)}
        for suite, item in batch:
            got = self._values.get((suite, item), {})
            if all(c in got for c in active):
                rows.setdefault(suite_at[suite], []).append([got[c] for c in active])
        for si, values in rows.items():
            x = np.asarray(values, dtype=float).T  # active configurations x items
            sums, squares, gram = x.sum(axis=1), (x * x).sum(axis=1), x @ x.T
            cell = np.ix_(idx, idx)
            self._s[si][cell] += sums[:, None] - sums[None, :]
            self._q[si][cell] += squares[:, None] + squares[None, :] - 2 * gram
            self._n[si][cell] += x.shape[1]
        self._lead = np.tensordot(self._weight, self._s, axes=1)  # winner x loser: the weighted paired sum
        self._var = np.tensordot(self._weight**2, self._q, axes=1)
        self._crossed: dict[float, Any] = {}
        for g, group in enumerate(self.groups):
            self._settle(g, group)
        made = [self._stop(c) for c in active if not any(c in still for still in self._open)]
        if self.finished:
            made += self.close()
        return made

    def _settle(self, g: int, group: Group) -> None:
        """One decision's look: drop the settled worse, the challengers that cannot replace, and the last one."""
        still = self._open[g]
        running = [c for c in still if c not in self.stops]
        protected = self.rule.alpha / max(1, len(group.members) - 1)  # the incumbent: alpha over all its rivals
        for loser in running:
            at = protected if loser == group.incumbent else self.rule.alpha
            winner = next((w for w in running if w != loser and self._settled(w, loser, at)), None)
            if winner is not None:
                self._let_go(g, Stop(loser, "settled-worse", 0, winner))
        incumbent = group.incumbent if group.incumbent in still else None
        if incumbent is not None:
            for c in [c for c in still if c != incumbent]:
                if self._hopeless(c, incumbent):
                    self._let_go(g, Stop(c, "cannot-replace", 0, incumbent))
        if len(still) == 1:
            last = next(iter(still))
            if self._per_suite(last) >= min(self.rule.min_items, int(self._size.min())):
                self._let_go(g, Stop(last, "settled-best", 0))

    def _let_go(self, g: int, stop: Stop) -> None:
        self._open[g].discard(stop.config)
        self._why[stop.config] = stop

    def _stop(self, config: str) -> Stop:
        why = self._why[config]
        stop = Stop(config, why.reason, self._answered[config], why.by)
        self.stops[config] = stop
        return stop

    def _per_suite(self, config: str) -> int:
        """The fewest items of any suite the configuration has answered (it answered a prefix of the order)."""
        answered = self._answered[config]
        return int(self._prefix[answered - 1].min()) if answered else 0

    def _settled(self, winner: str, loser: str, level: float) -> bool:
        if level not in self._crossed:
            import numpy as np

            scale = float(self._weight.min())  # the boundary in units of one item of the largest suite
            v = self._var / scale**2 + self.rule.rho
            bound = np.sqrt(v * np.log(v / (self.rule.rho * level * level)))
            self._crossed[level] = (self._lead > 0) & (self._lead / scale >= bound)
        if not self._crossed[level][self._index[winner], self._index[loser]]:
            return False
        return self.may_settle is None or self.may_settle(winner, loser)

    def _hopeless(self, challenger: str, incumbent: str) -> bool:
        """Even `optimism` standard errors better than it looks, could the challenger be shown better than the
        incumbent (one suite's paired test at the family's first Holm step) or lead by the margin, once every
        item is answered? A futility bound: it never makes a replacement, so it spends none of alpha."""
        import numpy as np

        i, j = self._index[challenger], self._index[incumbent]
        n = self._n[:, i, j]
        if n.sum() < self.rule.warmup or (n < 2).any():
            return False
        mean = self._s[:, i, j] / n
        var = np.maximum(self._q[:, i, j] / n - mean**2, 1.0 / n)  # never certain from a few concordant items
        hope = mean + self.rule.optimism * np.sqrt(var / n)
        z = NormalDist().inv_cdf(1 - self.rule.alpha / (2 * len(self._suites)))
        if (hope / np.sqrt(var / self._size) >= z).any():
            return False
        lead = float(mean.mean()) + self.rule.optimism * float(np.sqrt((var / n).sum())) / len(self._suites)
        return lead < self.rule.margin

    def close(self) -> list[Stop]:
        """Why the configurations still running stopped (the race is over: settled, complete or out of budget)."""
        if not self.finished:
            return []
        reason: Reason = "complete" if self.position >= len(self.order) else "budget"
        made = [Stop(c, reason, self._answered[c]) for c in self.active]
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
