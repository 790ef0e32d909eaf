"""Two configurations on the same items: each suite's paired test (the benchmark's own), Holm-corrected across
suites; speed as a paired ratio of latencies; quality as a paired bootstrap of the mean over suites.

`compare A B`, the report's significance marks, the decision rule and the QuarterlyUpdate all use these.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from llamune_eval.analysis.evidence import ConfigStat, Evidence
from llamune_eval.benchmarks import PairedTest
from llamune_eval.scoring.stats import holm
from llamune_eval.types import InputError


@dataclass(kw_only=True)
class SuiteComparison(PairedTest):
    """A against B on one suite (positive `diff`: A better on the benchmark's per-sample value `value`)."""

    suite: str
    metric: str
    value: str
    mean_a: float | None
    mean_b: float | None


def compare_configs(
    ev: Evidence, a: ConfigStat, b: ConfigStat, suites: Sequence[str] | None = None, *, correct: bool = True
) -> list[SuiteComparison]:
    """Per suite, the paired test on the items both answered; p-values Holm-corrected together (unless told
    not to, when the caller corrects a larger family)."""
    rows: list[SuiteComparison] = []
    for suite in suites if suites is not None else sorted(set(a.suites) & set(b.suites)):
        sa, sb = a.suites.get(suite), b.suites.get(suite)
        task = ev.task(suite)
        if sa is None or sb is None:
            either = sa or sb
            rows.append(
                SuiteComparison(
                    test="none",
                    n=0,
                    diff=None,
                    low=None,
                    high=None,
                    p=None,
                    suite=suite,
                    metric=either.metric if either else task.metric,
                    value=task.field,
                    mean_a=None,
                    mean_b=None,
                    note="not run for both configurations",
                )
            )
            continue
        common = sorted(set(sa.values) & set(sb.values))
        xa, xb = [sa.values[k] for k in common], [sb.values[k] for k in common]
        t = task.compare(xa, xb, seed=ev.seed, alpha=ev.alpha)
        rows.append(
            SuiteComparison(
                test=t.test,
                n=t.n,
                diff=t.diff,
                low=t.low,
                high=t.high,
                p=t.p,
                note=t.note,
                suite=suite,
                metric=sa.metric,
                value=task.field,
                mean_a=statistics.fmean(xa) if xa else None,
                mean_b=statistics.fmean(xb) if xb else None,
            )
        )
    if correct:
        apply_holm(rows)
    return rows


def significant(p: float | None, alpha: float) -> bool | None:
    """The one meaning of significant, wherever it is shown: the test's two-sided p (Holm-corrected where the
    test is one of a family) is below alpha, and the interval beside it, at the level 1 - alpha, then excludes
    0. None: the test gave no p."""
    return None if p is None else p < alpha


def apply_holm(rows: Sequence[PairedTest]) -> None:
    """Holm-correct a family in place (`p_holm`); tests without a p-value stay out of it."""
    tested = [r for r in rows if r.p is not None]
    for r, adjusted in zip(tested, holm([r.p for r in tested if r.p is not None]), strict=True):
        r.p_holm = adjusted


def paired(ev: Evidence, suite: str, a: ConfigStat, b: ConfigStat) -> PairedTest:
    """a against b on one suite's shared items, by the benchmark's own paired test (not corrected)."""
    sa, sb = a.suites[suite], b.suites[suite]
    common = sorted(set(sa.values) & set(sb.values))
    xa, xb = [sa.values[k] for k in common], [sb.values[k] for k in common]
    return ev.task(suite).compare(xa, xb, seed=ev.seed, alpha=ev.alpha)


def latency_test(ev: Evidence, a: ConfigStat, b: ConfigStat, suites: Sequence[str]) -> PairedTest:
    """Speed: paired log latencies on the items both answered (sign-flip test, bootstrap interval). `diff` > 0
    means A is faster; exp(-diff) is A's latency as a share of B's (geometric mean over the items)."""
    from llamune_eval.benchmarks._rules import paired_test

    xa: list[float] = []
    xb: list[float] = []
    for s in suites:
        sa, sb = a.suites.get(s), b.suites.get(s)
        if sa is None or sb is None:
            continue
        for k in sorted(set(sa.latencies) & set(sb.latencies)):
            xa.append(-math.log(sa.latencies[k]))
            xb.append(-math.log(sb.latencies[k]))
    return paired_test(xa, xb, right_at=None, seed=ev.seed, resamples=1000, alpha=ev.alpha)


def quality_difference(
    ev: Evidence, a: ConfigStat, b: ConfigStat, suites: Sequence[str], resamples: int = 1000
) -> PairedTest:
    """quality(A) - quality(B) with its paired-bootstrap interval at the level 1 - alpha and the bootstrap's
    two-sided p (items resampled within each suite): the interval excludes 0 exactly when p < alpha."""
    import numpy as np

    test = "paired bootstrap"
    qa, qb = ev.quality(a, suites), ev.quality(b, suites)
    if qa is None or qb is None or not suites:
        return PairedTest(test, 0, None, None, None, None, "no quality value")
    draws, n = [], 0
    for i, s in enumerate(suites):
        sa, sb = a.suites[s], b.suites[s]
        common = sorted(set(sa.values) & set(sb.values))
        if not common:
            return PairedTest(test, 0, qa - qb, None, None, None, f"no items shared on {s}")
        obs_a, obs_b = [sa.observed[k] for k in common], [sb.observed[k] for k in common]
        n += len(common)
        draws.append(ev.task(s).unit_draws(obs_a, obs_b, resamples, ev.seed + i))
    mean = np.mean(np.vstack(draws), axis=0)
    low, high = np.quantile(mean, [ev.alpha / 2, 1 - ev.alpha / 2])
    tail = min(int(np.sum(mean <= 0)), int(np.sum(mean >= 0)))
    p = min(1.0, 2 * (tail + 1) / (resamples + 1))  # as scoring.stats.paired_bootstrap reads its draws
    return PairedTest(test, n, qa - qb, float(low), float(high), p)


# compare A B
def pick(ev: Evidence, text: str) -> ConfigStat:
    """`model[:preset]`. Model names contain ':' themselves (Ollama tags), so the text is a model name when the
    evidence has one by that name (run with one preset), else `model:preset` split at the last ':'."""
    found = [c for (m, _), c in ev.configs.items() if m == text]
    if len(found) > 1:
        names = ", ".join(sorted(c.preset for c in found))
        raise InputError(f"{text} was run with several presets ({names}): name one as {text}:PRESET")
    if found:
        return found[0]
    head, _, tail = text.rpartition(":")
    if (head, tail) in ev.configs:
        return ev.configs[(head, tail)]
    models = sorted({m for m, _ in ev.configs})
    raise InputError(f"{text!r} matches no stored model[:preset] (models: {', '.join(models) or 'none'})")


def verdict(la: str, lb: str, rows: list[SuiteComparison], alpha: float) -> str:
    """A plain-language summary: where a difference is significant after Holm, and that nothing else is."""
    if not any(r.n for r in rows):
        return f"{la} and {lb} share no scored items: run them on the same suites first."
    better_a = [r.suite for r in rows if r.p_holm is not None and r.p_holm < alpha and (r.diff or 0) > 0]
    better_b = [r.suite for r in rows if r.p_holm is not None and r.p_holm < alpha and (r.diff or 0) < 0]
    parts = []
    if better_a:
        parts.append(f"{la} is better on {', '.join(better_a)}")
    if better_b:
        parts.append(f"{lb} is better on {', '.join(better_b)}")
    rest = "no significant difference elsewhere" if parts else "no significant difference on any suite"
    return "; ".join([*parts, rest]) + f" (Holm-corrected, alpha {alpha})."
