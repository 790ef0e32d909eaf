"""The power figure beside every suite's evidence: how many items a paired comparison needs to detect a difference
of `delta` (5 points on the 0-1 scale by default) with 80% power at the two-sided `[recommend] alpha` the
evidence was read at (0.05 by default).

n = ((z[1 - alpha/2] + z[power]) * sd / delta)^2, where sd is the standard deviation of the per-item paired
differences (on the 0-1 scale) when they vary, else the one two independent configurations with these means
would have, else the worst case (both at 0.5).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from statistics import NormalDist

from llamune_eval.config import ALPHA

DELTA = 0.05
POWER = 0.8
WORST_SD = math.sqrt(0.5)  # two independent right/wrong outcomes at 50%


def items_needed(sd: float, delta: float = DELTA, alpha: float = ALPHA, power: float = POWER) -> int:
    z = NormalDist()
    return math.ceil(((z.inv_cdf(1 - alpha / 2) + z.inv_cdf(power)) * sd / delta) ** 2)


def difference_sd(a: Sequence[float], b: Sequence[float]) -> float:
    """The sd the power figure uses for paired values `a` and `b` (each already on 0..1)."""
    if len(a) >= 2:
        paired = statistics.stdev(x - y for x, y in zip(a, b, strict=True))
        if paired > 0:
            return paired
        independent = math.sqrt(statistics.pvariance(a) + statistics.pvariance(b))
        if independent > 0:
            return independent
    return WORST_SD


def independent_sd(values: Sequence[float]) -> float:
    """The sd of a paired difference against an independent configuration with the same spread."""
    sd = math.sqrt(2 * statistics.pvariance(values)) if len(values) >= 2 else 0.0
    return sd if sd > 0 else WORST_SD
