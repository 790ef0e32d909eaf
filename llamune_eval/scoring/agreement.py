"""Agreement between a judge and people, and between people, with bootstrap intervals (README: "Judging").

Every figure is computed on the answers both rated, as `Estimate(value, low, high, n)`. The intervals are
bias-corrected and accelerated (BCa) bootstrap intervals at level 1 - alpha over resampled answers (items, for
pairwise agreement), widened for small samples (`expanded`) and drawn once per call from a seeded generator: the
same ratings give the same interval. Resamples are counts per answer (a multinomial draw), so each statistic is
computed for all resamples at once as a weighted statistic; with weights of one each it is the plain statistic,
which the tests hold to scipy and scikit-learn to 1e-9.

Scores are on the people's scale, as `to_scale` maps the judge's; the residual (judge - people) is on 0..1
(`unit`), so answers rated on 1-5 and 1-10 pool.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]
DRAWS = 2000  # bootstrap resamples per figure


@dataclass(frozen=True)
class Estimate:
    """A figure with its interval at the evidence's level and the number of answers (or answer pairs) it rests on.
    `value` is None when it cannot be computed (fewer than three answers, a constant side)."""

    value: float | None
    low: float | None
    high: float | None
    n: int


def to_scale(score: float, judge_scale: int, people_scale: int) -> float:
    """A judge's score on 1..judge_scale as a point of 1..people_scale: linear between the scales' ends
    (1 -> 1, judge_scale -> people_scale), so a 1-10 verdict of 10 is a 5 on 1-5 and 5.5 is a 3."""
    if judge_scale == people_scale:
        return score
    return 1 + (score - 1) * (people_scale - 1) / (judge_scale - 1)


def rounded(score: float, scale: int) -> int:
    """The nearest level of 1..scale, halves up: the judge's mapped score as a category for kappa."""
    return max(1, min(scale, math.floor(score + 0.5)))


def unit(score: float, scale: int) -> float:
    """A point of 1..scale on 0..1, so residuals on different scales pool."""
    return (score - 1) / (scale - 1)


# --- the statistics, for a matrix of weights (one row per resample; a row of ones is the plain statistic) ---


def _signs(v: Array) -> Array:
    return np.sign(v[:, None] - v[None, :])


def kendall_weighted(x: Array, y: Array, w: Array) -> Array:
    """Kendall's tau-b per row of weights: (concordant - discordant) / sqrt(pairs untied in x * pairs untied in
    y), a pair of copies of one answer being tied in both (as tau-b counts a repeated observation)."""
    sx, sy = _signs(x), _signs(y)
    both = ((w @ (sx * sy)) * w).sum(axis=1)
    tx = ((w @ np.abs(sx)) * w).sum(axis=1)
    ty = ((w @ np.abs(sy)) * w).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(both / np.sqrt(tx * ty), dtype=np.float64)


def _ranks(v: Array, w: Array) -> Array:
    """Average ranks of `v` within each weighted resample (ties, copies included, share their mean rank)."""
    order = np.argsort(v, kind="mergesort")
    sv = v[order]
    starts = np.r_[True, sv[1:] != sv[:-1]]
    first = np.flatnonzero(starts)  # each tie group's first and last sorted position
    last = np.r_[first[1:], sv.size] - 1
    group = np.cumsum(starts) - 1
    through = np.cumsum(w[:, order], axis=1)  # weight up to and including each sorted position
    end = through[:, last]
    size = end - np.c_[np.zeros(w.shape[0]), end[:, :-1]]
    mean_rank = end - size + (size + 1) / 2
    ranks = np.empty_like(w)
    ranks[:, order] = mean_rank[:, group]
    return ranks


def pearson_weighted(x: Array, y: Array, w: Array) -> Array:
    """Pearson's r per row, each value counted as often as its weight; x and y may differ per row."""
    total = w.sum(axis=1, keepdims=True)
    mx = (w * x).sum(axis=1, keepdims=True) / total
    my = (w * y).sum(axis=1, keepdims=True) / total
    cov = (w * (x - mx) * (y - my)).sum(axis=1)
    vx = (w * (x - mx) ** 2).sum(axis=1)
    vy = (w * (y - my) ** 2).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(cov / np.sqrt(vx * vy), dtype=np.float64)


def spearman_weighted(x: Array, y: Array, w: Array) -> Array:
    """Spearman's rho per row: Pearson's r of the average ranks within the resample."""
    return pearson_weighted(_ranks(x, w), _ranks(y, w), w)


def kappa_weighted(a: Array, b: Array, w: Array) -> Array:
    """Cohen's kappa with quadratic weights per row. With weights (i - j)^2 the observed disagreement is the mean
    squared difference and the expected one the mean over all cross pairs, so kappa = 1 - sum (a - b)^2 /
    (sum a^2 + sum b^2 - 2 sum a sum b / N): scikit-learn's `cohen_kappa_score(a, b, labels=1..K,
    weights="quadratic")`, and unchanged by one linear map of both sides (ratings on 0..1 pool)."""
    total = w.sum(axis=1)
    sa, sb = w @ a, w @ b
    observed = w @ (a - b) ** 2
    expected = w @ a**2 + w @ b**2 - 2 * sa * sb / total
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(1 - observed / expected, dtype=np.float64)


def slope_weighted(x: Array, y: Array, w: Array) -> Array:
    """The least-squares slope of y on x per row."""
    total = w.sum(axis=1, keepdims=True)
    mx = (w @ x)[:, None] / total
    my = (w @ y)[:, None] / total
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(((w * (x - mx) * (y - my)).sum(axis=1)) / (w * (x - mx) ** 2).sum(axis=1))


def mean_difference_weighted(values: Array, group: NDArray[np.bool_], w: Array) -> Array:
    """Mean of `values` where `group` minus the mean where not, per row."""
    inside, outside = w * group, w * ~group
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray((inside @ values) / inside.sum(axis=1) - (outside @ values) / outside.sum(axis=1))


# --- estimates ---

Statistic = Callable[[Array], Array]  # weights (resamples x units) -> one value per resample


def estimate(statistic: Statistic, units: int, *, alpha: float, seed: int, minimum: int = 3) -> Estimate:
    """The statistic on every unit (answer or item), with its bias-corrected and accelerated (BCa) bootstrap
    interval at 1 - alpha over `DRAWS` resamples of the units: the percentile interval corrected for the
    statistic's median bias and skew (Efron 1987), the acceleration from the jackknife. Resamples where the
    statistic is undefined (a constant side) are left out."""
    if units < minimum:
        return Estimate(None, None, None, units)
    point = float(statistic(np.ones((1, units)))[0])
    if not math.isfinite(point):
        return Estimate(None, None, None, units)
    values = statistic(resamples(units, seed))
    values = values[np.isfinite(values)]
    if values.size < DRAWS // 2:
        return Estimate(point, None, None, units)
    levels = _bca_levels(statistic, units, point, values, alpha)
    low, high = np.quantile(values, levels)
    return Estimate(point, float(low), float(high), units)


@functools.lru_cache(maxsize=8)
def resamples(units: int, seed: int) -> Array:
    """`DRAWS` bootstrap resamples of `units` units as counts per unit (one row each), drawn once per size and
    seed: every figure of one set of answers is resampled alike. Read-only (shared between callers)."""
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, units, size=(DRAWS, units)) + units * np.arange(DRAWS)[:, None]
    counts = np.bincount(picks.ravel(), minlength=DRAWS * units).reshape(DRAWS, units).astype(np.float64)
    counts.flags.writeable = False
    return counts


def _bca_levels(statistic: Statistic, units: int, point: float, values: Array, alpha: float) -> list[float]:
    """The quantiles of the bootstrap values that bound the BCa interval (alpha/2 and 1 - alpha/2 when the
    statistic is unbiased and symmetric, or the corrections cannot be computed)."""
    normal = NormalDist()
    below = (np.sum(values < point) + 0.5 * np.sum(values == point)) / values.size
    if not 0 < below < 1:
        return [alpha / 2, 1 - alpha / 2]
    z0 = normal.inv_cdf(float(below))
    jack = statistic(1 - np.eye(units))  # each unit left out once
    jack = jack[np.isfinite(jack)]
    if jack.size < 2:
        return [normal.cdf(z0 + z0 + expanded(normal.inv_cdf(t), units)) for t in (alpha / 2, 1 - alpha / 2)]
    spread = jack.mean() - jack
    denominator = 6 * float(np.sum(spread**2)) ** 1.5
    accel = float(np.sum(spread**3)) / denominator if denominator > 0 else 0.0
    levels = []
    for tail in (alpha / 2, 1 - alpha / 2):
        z = z0 + expanded(normal.inv_cdf(tail), units)
        levels.append(normal.cdf(z0 + z / (1 - accel * z)))
    return levels


def expanded(z: float, n: int) -> float:
    """A normal quantile widened for a sample of n, as Hesterberg's expanded percentile interval does: the
    bootstrap's spread is too narrow by sqrt((n - 1) / n), and a studentised mean follows Student's t with n - 1
    degrees of freedom (its quantile from z by the Cornish-Fisher expansion, A&S 26.7.5; exact to 1e-3 from 10
    degrees of freedom). In 1,000 simulated panels of 40, 80 and 100 answers the percentile interval held a
    known slope 92.9%, 94.6% and 94.0% of the time; BCa with this widening 93.8%, 95.1% and 94.9%."""
    df = max(1, n - 1)
    t = z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)
    return t * math.sqrt(n / df)


@dataclass(frozen=True)
class Rated:
    """One answer both rated: the judge's score mapped to the people's scale, the people's score (their mean
    when several rated it), the scale, the answer's length, and whether the judge rated its own model family."""

    judge: float
    people: float
    scale: int
    chars: int = 0
    own_family: bool | None = None
    item: str = ""  # suite and item: answers to the same item are ordered against each other


@dataclass(frozen=True)
class Agreement:
    """How a judge (or the panel) agrees with people on the answers both rated."""

    spearman: Estimate
    kendall: Estimate
    kappa: Estimate
    pairwise: Estimate  # share of two answers to one item the judge orders as the people do (n: pairs)
    length_correlation: Estimate  # Spearman of the residual with the answer's length
    length_slope: Estimate  # residual (0..1) per 1,000 characters
    self_preference: Estimate  # mean residual on the judge's own family minus on others


class Columns:
    """The rated answers as arrays on 0..1 of their scales, built once for all the figures."""

    def __init__(self, rated: Sequence[Rated]) -> None:
        self.n = len(rated)
        self.judge = np.array([unit(r.judge, r.scale) for r in rated])
        self.people = np.array([unit(r.people, r.scale) for r in rated])
        self.judge_levels = np.array([unit(rounded(r.judge, r.scale), r.scale) for r in rated])
        self.people_levels = np.array([unit(rounded(r.people, r.scale), r.scale) for r in rated])
        self.chars = np.array([r.chars / 1000 for r in rated], dtype=np.float64)  # thousands of characters
        self.resid = self.judge - self.people


def kendall(c: Columns, *, alpha: float, seed: int) -> Estimate:
    """Kendall's tau-b of the judge with people: the figure the check reads."""
    return estimate(lambda w: kendall_weighted(c.judge, c.people, w), c.n, alpha=alpha, seed=seed)


def length_slope(c: Columns, *, alpha: float, seed: int) -> Estimate:
    """The residual (0..1) per 1,000 characters: how much more than people the judge rewards length."""
    return estimate(lambda w: slope_weighted(c.chars, c.resid, w), c.n, alpha=alpha, seed=seed)


def agreement(rated: Sequence[Rated], *, alpha: float, seed: int) -> Agreement:
    c = Columns(rated)
    n = c.n
    families = {r.own_family for r in rated}
    return Agreement(
        spearman=estimate(lambda w: spearman_weighted(c.judge, c.people, w), n, alpha=alpha, seed=seed),
        kendall=kendall(c, alpha=alpha, seed=seed),
        kappa=estimate(lambda w: kappa_weighted(c.judge_levels, c.people_levels, w), n, alpha=alpha, seed=seed),
        pairwise=pairwise_agreement(rated, alpha=alpha, seed=seed),
        length_correlation=estimate(lambda w: spearman_weighted(c.resid, c.chars, w), n, alpha=alpha, seed=seed),
        length_slope=length_slope(c, alpha=alpha, seed=seed),
        self_preference=(
            _self_preference(rated, c.resid, alpha, seed)
            if {True, False} <= families
            else Estimate(None, None, None, 0)
        ),
    )


def _self_preference(rated: Sequence[Rated], resid: Array, alpha: float, seed: int) -> Estimate:
    keep = np.array([r.own_family is not None for r in rated])
    own = np.array([bool(r.own_family) for r in rated])[keep]
    values = resid[keep]
    return estimate(lambda w: mean_difference_weighted(values, own, w), int(keep.sum()), alpha=alpha, seed=seed)


def pairwise_agreement(rated: Sequence[Rated], *, alpha: float, seed: int) -> Estimate:
    """Over pairs of answers to one item that the people did not rate alike: the share the judge orders the same
    way (a judge's tie counts half). The bootstrap resamples items; n is the number of pairs."""
    by_item: dict[str, list[Rated]] = {}
    for r in rated:
        if r.item:
            by_item.setdefault(r.item, []).append(r)
    outcomes: list[tuple[int, float]] = []  # (item index, 1 agree / 0.5 judge tie / 0 disagree)
    items = [group for group in by_item.values() if len(group) > 1]
    for index, group in enumerate(items):
        for i, a in enumerate(group):
            for b in group[i + 1 :]:
                people = np.sign(unit(a.people, a.scale) - unit(b.people, b.scale))
                if people == 0:
                    continue
                judge = np.sign(unit(a.judge, a.scale) - unit(b.judge, b.scale))
                outcomes.append((index, 0.5 if judge == 0 else float(judge == people)))
    if not outcomes:
        return Estimate(None, None, None, 0)
    where = np.array([i for i, _ in outcomes])
    value = np.array([v for _, v in outcomes])
    per_item = np.zeros((len(items), 2))  # agreement sum and pairs per item
    np.add.at(per_item, where, np.c_[value, np.ones_like(value)])

    def share(w: Array) -> Array:
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.asarray((w @ per_item[:, 0]) / (w @ per_item[:, 1]))

    got = estimate(share, len(items), alpha=alpha, seed=seed, minimum=1)
    return Estimate(got.value, got.low, got.high, len(outcomes))


def inter_rater(pairs: Sequence[tuple[str, float, float, int]], *, alpha: float, seed: int) -> Estimate:
    """Quadratic-weighted kappa between raters on the answers two or more rated: (answer, one rater's score,
    another's, scale) for every pair of raters, in both orders so neither rater is the reference. The bootstrap
    resamples answers; n is the number of answers."""
    answers = sorted({a for a, *_ in pairs})
    if not answers:
        return Estimate(None, None, None, 0)
    index = {a: i for i, a in enumerate(answers)}
    rows = [(index[a], unit(x, s), unit(y, s)) for a, x, y, s in pairs]
    rows += [(i, y, x) for i, x, y in rows]
    owner = np.array([i for i, *_ in rows])
    first = np.array([x for _, x, _ in rows])
    second = np.array([y for *_, y in rows])

    def kappa(w: Array) -> Array:
        return kappa_weighted(first, second, w[:, owner])

    return estimate(kappa, len(answers), alpha=alpha, seed=seed, minimum=2)
