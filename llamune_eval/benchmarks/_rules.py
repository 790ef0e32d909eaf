"""How a benchmark turns stored samples into evidence: its per-sample value, what counts as right, its headline
figure with a 95% interval, its 0-1 scale and its paired test between two configurations.

Every benchmark file binds these rules once (most through `MeanRules`; JSTS writes its own), and leaderboard,
compare, recommend and report all ask the benchmark instead of writing the rule again. An answer that failed or
could not be read is a value at the benchmark's floor, never absent: a configuration cannot improve its figure by
failing to answer.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from llamune_eval.config import ALPHA

RESAMPLES = 1000  # bootstrap resamples of an interval
PAIRED_RESAMPLES = 2000  # resamples of a paired difference


@dataclass(frozen=True, slots=True)
class Observed:
    """What the rules read of one sample: its score values (a judged answer carries `judge`, the judges' mean
    share of the scale), whether it was answered, and whether it still waits for the judge."""

    values: Mapping[str, float]
    ok: bool = True
    pending: bool = False
    reference: Any = None


@dataclass
class Headline:
    """A suite's figure for one configuration; `note` says why a figure is None."""

    metric: str
    value: float | None
    low: float | None = None
    high: float | None = None
    others: dict[str, float | None] = field(default_factory=dict)
    note: str | None = None


@dataclass
class PairedTest:
    """A against B on the items both answered: mean difference (positive: A better), its interval and p; `p_holm`
    once it has been corrected with the rest of its family."""

    test: str
    n: int
    diff: float | None
    low: float | None
    high: float | None
    p: float | None
    note: str | None = None
    p_holm: float | None = None


def finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def clamp_unit(headline: float | None) -> float | None:
    """A headline on 0..1, for averaging suites into one quality figure: a correlation below 0 counts as 0."""
    return None if headline is None else max(0.0, min(1.0, headline))


def paired_test(
    a: Sequence[float],
    b: Sequence[float],
    *,
    right_at: float | None,
    seed: int,
    resamples: int = PAIRED_RESAMPLES,
    alpha: float = ALPHA,
) -> PairedTest:
    """McNemar's exact test when every value is right or wrong (0 or 1), else the paired sign-flip (permutation)
    test of the mean difference; the interval is always the paired bootstrap's, at the level 1 - alpha of the
    test it stands beside."""
    from llamune_eval.scoring.stats import mcnemar_exact, paired_bootstrap, sign_flip

    if not a:
        return PairedTest("none", 0, None, None, None, None, "no items answered by both")
    diff, low, high, _ = paired_bootstrap(a, b, resamples=resamples, seed=seed, level=1 - alpha)
    p = sign_flip(a, b, resamples=resamples, seed=seed)
    test = "paired sign-flip"
    if right_at is not None and all(v in (0.0, 1.0) for v in (*a, *b)):
        p = mcnemar_exact([v >= right_at for v in a], [v >= right_at for v in b])
        test = "McNemar exact"
    return PairedTest(test, len(a), finite(diff), finite(low), finite(high), finite(p))


class MeanRules:
    """A benchmark whose headline is the mean of a per-sample value in 0..1 (accuracy, F1, pass rate, judge)."""

    metric: str = "mean"
    value_range: tuple[float, float] = (0.0, 1.0)
    field: str = "value"  # the score value averaged (and compared between configurations)
    scoring_version: str = "1"
    extra: tuple[str, ...] = ()  # other per-sample values reported as means beside the headline
    right_at: float = 0.5  # a value at or above this is right
    floor: float = 0.0  # the value of a failed or unreadable answer

    def value(self, obs: Observed) -> float | None:
        """The per-sample value (higher is better); None only while the judge has not scored it."""
        if not obs.ok:
            return self.floor
        got = obs.values.get(self.field)
        if got is None and obs.pending:
            return None
        return self.floor if got is None else got

    def right(self, value: float) -> bool:
        return value >= self.right_at

    def unit(self, headline: float | None) -> float | None:
        """The headline on 0..1, for averaging suites into one quality figure."""
        return clamp_unit(headline)

    def unit_value(self, value: float) -> float:
        """One sample's value on the 0..1 scale of `unit` (for the power figure)."""
        return value

    def metric_of(self, observed: Sequence[Observed]) -> str:
        return self.metric

    def headline(self, observed: Sequence[Observed]) -> Headline:
        """The figure itself (its interval is `interval`, computed only where it is shown)."""
        metric = self.metric_of(observed)
        values = [v for v in (self.value(o) for o in observed) if v is not None]
        if not values:
            return Headline(metric, None, note="no scored answers yet" if observed else "no samples")
        others: dict[str, float | None] = {}
        for name in self.extra:
            got = [o.values.get(name, self.floor) if o.ok else self.floor for o in observed if not o.pending]
            others[name] = statistics.fmean(got) if got else None
        return Headline(metric, statistics.fmean(values), others=others)

    def interval(self, observed: Sequence[Observed], seed: int = 0) -> tuple[float | None, float | None]:
        """95% percentile bootstrap interval of the headline (1,000 resamples of the items, seeded)."""
        from llamune_eval.scoring.stats import bootstrap_ci

        values = [v for v in (self.value(o) for o in observed) if v is not None]
        if not values:
            return None, None
        low, high = bootstrap_ci(values, resamples=RESAMPLES, seed=seed)
        return finite(low), finite(high)

    def compare(self, a: Sequence[float], b: Sequence[float], seed: int = 0, alpha: float = ALPHA) -> PairedTest:
        return paired_test(a, b, right_at=self.right_at, seed=seed, alpha=alpha)

    def unit_draws(self, a: Sequence[Observed], b: Sequence[Observed], resamples: int, seed: int) -> Any:
        """Bootstrap draws of unit(A) - unit(B) over the paired samples (an array of `resamples`)."""
        import numpy as np

        va = np.array([self.value(o) or 0.0 for o in a])
        vb = np.array([self.value(o) or 0.0 for o in b])
        idx = np.random.default_rng(seed).integers(0, len(va), size=(resamples, len(va)))
        return va[idx].mean(axis=1) - vb[idx].mean(axis=1)
