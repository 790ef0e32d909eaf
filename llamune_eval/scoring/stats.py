"""Statistics for the evidence: seeded percentile bootstrap intervals (vectorised for means), exact tests (McNemar,
Fisher, binomial, paired sign-flip), paired bootstrap, Holm correction and Bradley–Terry."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

DISCRETE = 64  # at most this many distinct values: resample the counts, not the items


def resampled_means(data: Any, resamples: int, rng: Any) -> Any:
    """`resamples` bootstrap means of `data`. Values with few distinct levels (right/wrong, differences of two
    such) are resampled as multinomial counts over the levels: the same distribution as drawing items, in time
    independent of the number of items. Otherwise index matrices, in blocks of ~10 M indices so that 10,000
    resamples of 10,000 items stay within a few hundred MB."""
    levels, counts = np.unique(data, return_counts=True)
    if levels.size <= DISCRETE:
        drawn = rng.multinomial(data.size, counts / data.size, size=resamples)
        return drawn @ levels / data.size
    block = max(1, 10_000_000 // data.size)
    return np.concatenate(
        [
            data[rng.integers(0, data.size, size=(min(block, resamples - start), data.size))].mean(axis=1)
            for start in range(0, resamples, block)
        ]
    )


def bootstrap_ci(
    values: Sequence[float], *, resamples: int = 1000, level: float = 0.95, seed: int = 0
) -> tuple[float, float]:
    """Percentile interval of the mean."""
    data = np.asarray(values, dtype=float)
    if data.size == 0:
        return (math.nan, math.nan)
    means = resampled_means(data, resamples, np.random.default_rng(seed))
    alpha = (1 - level) / 2
    return float(np.quantile(means, alpha)), float(np.quantile(means, 1 - alpha))


def bootstrap_ci_paired(
    x: Sequence[float],
    y: Sequence[float],
    stat: Callable[[np.ndarray, np.ndarray], float],
    *,
    resamples: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile interval of a statistic of pairs (a correlation), resampling pairs together."""
    draws = _paired_draws(x, y, resamples, seed)
    if draws is None:
        return (math.nan, math.nan)
    return _percentiles(np.array([stat(p, q) for p, q in zip(*draws, strict=True)]), level)


def _paired_draws(x: Sequence[float], y: Sequence[float], resamples: int, seed: int) -> tuple[Any, Any] | None:
    """`resamples` resamplings of the pairs, as two (resamples x n) arrays; None under three pairs."""
    a, b = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if a.size < 3:
        return None
    idx = np.random.default_rng(seed).integers(0, a.size, size=(resamples, a.size))
    return a[idx], b[idx]


def _percentiles(stats: Any, level: float) -> tuple[float, float]:
    stats = stats[np.isfinite(stats)]
    if stats.size == 0:
        return (math.nan, math.nan)
    alpha = (1 - level) / 2
    return float(np.quantile(stats, alpha)), float(np.quantile(stats, 1 - alpha))


def mcnemar_exact(a_correct: Sequence[bool], b_correct: Sequence[bool]) -> float:
    """Two-sided exact McNemar p-value for paired right/wrong outcomes: a binomial test on discordant pairs
    (computed here in log space: importing scipy for it costs about a second)."""
    if len(a_correct) != len(b_correct):
        raise ValueError("paired outcomes must have the same length")
    only_a = sum(1 for x, y in zip(a_correct, b_correct, strict=True) if x and not y)
    only_b = sum(1 for x, y in zip(a_correct, b_correct, strict=True) if y and not x)
    if only_a + only_b == 0:
        return 1.0
    return binomial_half_two_sided(min(only_a, only_b), only_a + only_b)


def binomial_half_two_sided(k: int, n: int) -> float:
    """P-value of k successes in n fair trials, two-sided (the distribution is symmetric: twice the smaller tail)."""
    k = min(k, n - k)
    logs = [math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) - n * math.log(2) for i in range(k + 1)]
    top = max(logs)
    tail = math.exp(top) * sum(math.exp(v - top) for v in logs)
    return min(1.0, 2 * tail)


def fisher_exact(a: int, b: int, c: int, d: int) -> float:
    """Two-sided p-value of Fisher's exact test on the 2x2 table [[a, b], [c, d]]: the total probability, under
    fixed margins, of the tables no more likely than this one (log space, no scipy)."""
    row1, row2, col1 = a + b, c + d, a + c
    n = row1 + row2
    if n == 0 or row1 == 0 or row2 == 0 or col1 in (0, n):
        return 1.0

    def lcomb(k: int, r: int) -> float:
        return math.lgamma(k + 1) - math.lgamma(r + 1) - math.lgamma(k - r + 1)

    def logp(x: int) -> float:
        return lcomb(row1, x) + lcomb(row2, col1 - x) - lcomb(n, col1)

    observed = logp(a)
    tail = [logp(x) for x in range(max(0, col1 - row2), min(row1, col1) + 1)]
    return min(1.0, sum(math.exp(v) for v in tail if v <= observed + 1e-7))


def bootstrap_ci_pearson(
    x: Sequence[float], y: Sequence[float], *, resamples: int = 1000, level: float = 0.95, seed: int = 0
) -> tuple[float, float]:
    """`bootstrap_ci_paired` for Pearson's r, vectorised over the resamples (the same draws, the same interval)."""
    draws = _paired_draws(x, y, resamples, seed)
    if draws is None:
        return (math.nan, math.nan)
    xa, xb = draws
    xa = xa - xa.mean(axis=1, keepdims=True)
    xb = xb - xb.mean(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (xa * xb).sum(axis=1) / np.sqrt((xa * xa).sum(axis=1) * (xb * xb).sum(axis=1))
    return _percentiles(r, level)


def paired_bootstrap(
    a: Sequence[float], b: Sequence[float], *, resamples: int = 10_000, level: float = 0.95, seed: int = 0
) -> tuple[float, float, float, float]:
    """Mean difference a - b over the same items: (difference, low, high, two-sided p) by resampling items."""
    diffs = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    if diffs.size == 0:
        return (math.nan, math.nan, math.nan, math.nan)
    means = resampled_means(diffs, resamples, np.random.default_rng(seed))
    alpha = (1 - level) / 2
    observed = float(diffs.mean())
    # p: how often the resampled difference lands on the other side of zero (two-sided, with +1 smoothing)
    tail = min(np.sum(means <= 0), np.sum(means >= 0))
    p = min(1.0, 2 * (tail + 1) / (resamples + 1))
    return observed, float(np.quantile(means, alpha)), float(np.quantile(means, 1 - alpha)), float(p)


EXACT_FLIPS = 16  # up to this many non-zero differences the sign-flip test enumerates every sign pattern


def sign_flip(a: Sequence[float], b: Sequence[float], *, resamples: int = 10_000, seed: int = 0) -> float:
    """Two-sided p of the paired sign-flip (permutation) test of the mean difference a - b: under "no difference"
    each item's difference is as likely negative as positive. Exact for up to 16 non-zero differences (two items
    both one point better give p = 0.5, where a bootstrap p would claim significance), Monte Carlo with +1
    smoothing beyond; differences with few levels are drawn as binomial counts per level."""
    diffs = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    diffs = diffs[diffs != 0]
    if diffs.size == 0:
        return 1.0
    observed = abs(diffs.sum()) * (1 - 1e-9)
    if diffs.size <= EXACT_FLIPS:
        signs = 1 - 2 * ((np.arange(2**diffs.size)[:, None] >> np.arange(diffs.size)) & 1)
        return float(np.mean(np.abs(signs @ diffs) >= observed))
    rng = np.random.default_rng(seed)
    levels, counts = np.unique(diffs, return_counts=True)
    if levels.size <= DISCRETE:
        positive = rng.binomial(counts, 0.5, size=(resamples, levels.size))
        sums = (2 * positive - counts) @ levels
    else:
        block = max(1, 8_000_000 // diffs.size)
        sums = np.concatenate(
            [  # a positive sign per 1 bit: sum = 2 * (bits . d) - sum(d)
                2 * (rng.integers(0, 2, size=(min(block, resamples - start), diffs.size), dtype=np.int8) @ diffs)
                - diffs.sum()
                for start in range(0, resamples, block)
            ]
        )
    return float(min(1.0, (np.sum(np.abs(sums) >= observed) + 1) / (resamples + 1)))


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values, in the input order (monotone, capped at 1)."""
    order = sorted(range(len(pvalues)), key=lambda i: pvalues[i])
    m = len(pvalues)
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        adjusted[i] = running
    return adjusted


def bradley_terry(
    wins: Sequence[tuple[str, str, float]], *, iterations: int = 1000, tol: float = 1e-10
) -> dict[str, float]:
    """Strengths from pairwise outcomes (a, b, score of a: 1 win, 0.5 tie, 0 loss) by the MM algorithm.

    Returned as log-strengths centred on zero, so a difference d means P(a beats b) = 1 / (1 + exp(-d)).
    """
    players = sorted({p for a, b, _ in wins for p in (a, b)})
    index = {p: i for i, p in enumerate(players)}
    n = len(players)
    if n == 0:
        return {}
    w = np.zeros(n)
    games = np.zeros((n, n))
    for a, b, score in wins:
        i, j = index[a], index[b]
        w[i] += score
        w[j] += 1 - score
        games[i, j] += 1
        games[j, i] += 1
    w = w + 0.5  # a half win against everyone: keeps an all-loss player finite
    games = games + 1.0 / max(n - 1, 1) * (1 - np.eye(n))
    strength = np.ones(n)
    for _ in range(iterations):
        denom = (games / (strength[:, None] + strength[None, :])).sum(axis=1)
        new = w / denom
        new /= np.exp(np.log(new).mean())
        if np.max(np.abs(new - strength)) < tol:
            strength = new
            break
        strength = new
    logs = np.log(strength)
    return {p: float(logs[index[p]] - logs.mean()) for p in players}


def bradley_terry_ci(
    wins: Sequence[tuple[str, str, float]], *, resamples: int = 200, level: float = 0.95, seed: int = 0
) -> dict[str, tuple[float, float, float]]:
    """Bradley–Terry log-strengths with percentile intervals from resampling the comparisons."""
    point = bradley_terry(wins)
    rng = np.random.default_rng(seed)
    samples: dict[str, list[float]] = {p: [] for p in point}
    data = list(wins)
    for _ in range(resamples):
        picked = [data[i] for i in rng.integers(0, len(data), size=len(data))]
        for p, v in bradley_terry(picked, iterations=200, tol=1e-8).items():
            samples[p].append(v)
    alpha = (1 - level) / 2
    return {
        p: (v, float(np.quantile(samples[p], alpha)), float(np.quantile(samples[p], 1 - alpha)))
        if samples[p]
        else (v, math.nan, math.nan)
        for p, v in point.items()
    }
