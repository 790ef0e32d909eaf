"""Metric functions with exact, documented definitions (the README repeats them).

Exact match and character F1 take the normalisation they compare under: JGLUE's (`parse.strict_normalize`) for
the strict profile, `lenient_normalize` for the lenient one. In-house `exact` and `contains` items use
`normalize`: NFKC, all whitespace removed, surrounding quotes and punctuation stripped.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence

_SPACE = re.compile(r"\s+")
_EDGE = "。、．，.,!！?？「」『』\"'()（）[]【】:：;；*`"


def normalize(text: str) -> str:
    return _SPACE.sub("", unicodedata.normalize("NFKC", text)).strip(_EDGE)


def lenient_normalize(text: str) -> str:
    """`normalize`, lower-cased: the lenient profile's comparison."""
    return normalize(text).lower()


Normalizer = Callable[[str], str]


def exact_match(prediction: str, golds: Sequence[str], norm: Normalizer = normalize) -> float:
    """1.0 when the normalised prediction equals any normalised gold answer."""
    pred = norm(prediction)
    return float(any(pred == norm(g) for g in golds))


def char_f1(prediction: str, golds: Sequence[str], norm: Normalizer = normalize) -> float:
    """Best character-level F1 over the gold answers: multiset overlap of normalised characters (an empty side
    scores 1 only against an empty other side)."""
    pred = norm(prediction)
    best = 0.0
    for gold in golds:
        ref = norm(gold)
        if not pred or not ref:
            best = max(best, float(pred == ref))
            continue
        common = sum((Counter(pred) & Counter(ref)).values())
        if common:
            precision, recall = common / len(pred), common / len(ref)
            best = max(best, 2 * precision * recall / (precision + recall))
    return best


def span_scores(prediction: str, golds: Sequence[str], norm: Normalizer = normalize) -> tuple[float, float]:
    """(exact match, character F1), best over the golds: `exact_match` and `char_f1` in one pass, each text
    normalised once (JSQuAD scores every answer under two profiles)."""
    pred = norm(prediction)
    counted = Counter(pred)
    em = f1 = 0.0
    for gold in golds:
        ref = norm(gold)
        if pred == ref:
            return 1.0, 1.0
        if not pred or not ref:
            continue
        common = sum((counted & Counter(ref)).values())
        if common:
            precision, recall = common / len(pred), common / len(ref)
            f1 = max(f1, 2 * precision * recall / (precision + recall))
    return em, f1


def accuracy(correct: Sequence[float]) -> float:
    return sum(correct) / len(correct) if correct else math.nan


def pearson(x: Sequence[float], y: Sequence[float]) -> float:
    """Pearson's r; NaN when fewer than two pairs or either side is constant."""
    import numpy as np

    if len(x) < 2:
        return math.nan
    a, b = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if a.std() == 0 or b.std() == 0:
        return math.nan
    return float(np.corrcoef(a, b)[0, 1])


def rankdata(values: Sequence[float]) -> list[float]:
    """Average ranks (1-based; ties share their mean rank), as scipy.stats.rankdata, without importing scipy."""
    import numpy as np

    a = np.asarray(values, dtype=float)
    sorter = np.argsort(a, kind="mergesort")
    inverse = np.empty(a.size, dtype=np.intp)
    inverse[sorter] = np.arange(a.size)
    ordered = a[sorter]
    starts = np.r_[True, ordered[1:] != ordered[:-1]]
    dense = starts.cumsum()[inverse]
    bounds = np.r_[np.nonzero(starts)[0], a.size]
    return list(0.5 * (bounds[dense] + bounds[dense - 1] + 1))


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman's rho: Pearson's r of the average ranks (ties share their mean rank)."""
    if len(x) < 2:
        return math.nan
    return pearson(rankdata(x), rankdata(y))
