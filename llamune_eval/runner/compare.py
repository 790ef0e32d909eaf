"""`compare A B`: two model[:preset] configurations on the same items, suite by suite, with paired tests.

Right/wrong metrics use McNemar's exact test; continuous ones (JSQuAD F1, JSTS absolute error) a paired bootstrap.
All suites' p-values are Holm-corrected together before the verdict is phrased.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from llamune_eval.scoring.stats import holm, mcnemar_exact, paired_bootstrap
from llamune_eval.store.results import Store
from llamune_eval.types import InputError

# per-sample value compared, and whether higher is better
PAIRED_VALUE = {"jcommonsenseqa": "correct", "jnli": "correct", "jsquad": "f1", "inhouse": "pass", "jsts": "abs_error"}
BINARY = {"correct", "pass"}


@dataclass
class Selector:
    model: str
    preset: str | None

    def label(self) -> str:
        return f"{self.model}:{self.preset}" if self.preset else self.model


@dataclass
class SuiteComparison:
    suite: str
    value: str
    n: int
    mean_a: float
    mean_b: float
    diff: float
    low: float
    high: float
    p: float
    p_holm: float = math.nan
    test: str = ""


def _resolve(store: Store, text: str) -> Selector:
    """`model[:preset]`. Model names contain ':' themselves (Ollama tags), so the text is a model name when the
    store has one by that name, else `model:preset` split at the last ':'."""
    presets = {r["preset"] for r in store.samples()}
    models = {r["model"] for r in store.samples()}
    if text in models:
        return Selector(text, None)
    head, _, tail = text.rpartition(":")
    if head in models and tail in presets:
        return Selector(head, tail)
    raise InputError(f"{text!r} matches no stored model[:preset] (models: {', '.join(sorted(models)) or 'none'})")


def _values(store: Store, sel: Selector) -> dict[str, dict[tuple[str, int], float]]:
    rows = [r for r in store.samples("status = 'ok' AND model = ?", [sel.model])
            if sel.preset is None or r["preset"] == sel.preset]  # fmt: skip
    presets = {r["preset"] for r in rows}
    if len(presets) > 1:
        raise InputError(f"{sel.model} was run with several presets ({', '.join(sorted(presets))}): name one as "
                         f"{sel.model}:PRESET")  # fmt: skip
    scores = store.scores_for(r["key"] for r in rows)
    out: dict[str, dict[tuple[str, int], float]] = {}
    for r in rows:
        kind = r["kind"] if r["kind"] in PAIRED_VALUE else "inhouse"
        field = PAIRED_VALUE[kind]
        s = scores.get(r["key"], {})
        if field == "abs_error":
            if "pred" not in s:
                continue
            value = abs(s["pred"] - s["gold"])
        elif field in s:
            value = s[field]
        else:
            continue
        out.setdefault(r["suite"], {})[(r["item_id"], r["repeat"])] = value
    return out


def compare(store: Store, a_text: str, b_text: str, seed: int = 0) -> tuple[Selector, Selector, list[SuiteComparison]]:
    a, b = _resolve(store, a_text), _resolve(store, b_text)
    va, vb = _values(store, a), _values(store, b)
    rows: list[SuiteComparison] = []
    kinds = {r["suite"]: r["kind"] for r in store.samples()}
    for suite in sorted(set(va) & set(vb)):
        common = sorted(set(va[suite]) & set(vb[suite]))
        if not common:
            continue
        xa = [va[suite][k] for k in common]
        xb = [vb[suite][k] for k in common]
        field = PAIRED_VALUE.get(kinds.get(suite, "inhouse"), "pass")
        sign = -1.0 if field == "abs_error" else 1.0  # report "better" as positive
        diff, low, high, p = paired_bootstrap([sign * x for x in xa], [sign * x for x in xb], seed=seed)
        test = "paired bootstrap"
        if field in BINARY:
            p = mcnemar_exact([x >= 0.5 for x in xa], [x >= 0.5 for x in xb])
            test = "McNemar exact"
        rows.append(SuiteComparison(suite, field, len(common), sum(xa) / len(xa), sum(xb) / len(xb), diff, low, high,
                                    p, test=test))  # fmt: skip
    for row, adjusted in zip(rows, holm([r.p for r in rows]), strict=True):
        row.p_holm = adjusted
    return a, b, rows


def verdict(a: Selector, b: Selector, rows: list[SuiteComparison], alpha: float = 0.05) -> str:
    """A plain-language summary: where a difference is significant after Holm, and that nothing else is."""
    if not rows:
        return f"{a.label()} and {b.label()} share no scored items: run them on the same suites first."
    better_a = [r.suite for r in rows if r.p_holm < alpha and r.diff > 0]
    better_b = [r.suite for r in rows if r.p_holm < alpha and r.diff < 0]
    parts = []
    if better_a:
        parts.append(f"{a.label()} is better on {', '.join(better_a)}")
    if better_b:
        parts.append(f"{b.label()} is better on {', '.join(better_b)}")
    rest = "no significant difference elsewhere" if parts else "no significant difference on any suite"
    return "; ".join([*parts, rest]) + f" (Holm-corrected, alpha {alpha})."


def as_dicts(rows: list[SuiteComparison]) -> list[dict[str, Any]]:
    return [vars(r) for r in rows]
