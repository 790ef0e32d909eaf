"""Which stored answers a rater sees, in what order (README: "Judging").

- The answers: those of the judged suites in the quarter's selection (answered, scored by the judge).
- A sample stratified by suite x configuration: every suite's items are put in one seeded order, each
  configuration's answers follow it, and the strata are taken in turn; so the first answers of the order are
  the same few items answered by every configuration, which is what the judge's pairwise agreement compares.
- The overlap: the first `overlap` share of a rater's `n` is the head of that order, the same for every rater
  (their own agreement is measured on it). The rest is the order's next answers no other rater has rated.
- Shown blind, in an order shuffled per rater: no model, preset or judge score, and no pattern of strata.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from llamune_eval.store.selection import SampleRow


@dataclass(frozen=True)
class Planned:
    """An answer to rate: the sample, the scale of its overall rating (the judge's), and whether every rater
    sees it (the overlap)."""

    row: SampleRow
    scale: int
    shared: bool


def _rank(*parts: object) -> str:
    return hashlib.sha256(":".join(str(p) for p in parts).encode()).hexdigest()


def stratified(rows: list[SampleRow], seed: int) -> list[SampleRow]:
    """The answers in the order raters take them: strata (suite x configuration) in turn, each following its
    suite's seeded item order."""
    strata: dict[tuple[str, str, str], list[SampleRow]] = {}
    for r in rows:
        strata.setdefault((r.suite, r.model, r.preset), []).append(r)
    for members in strata.values():
        members.sort(key=lambda r: (_rank(seed, r.suite, r.item_id), r.repeat, r.key))
    out: list[SampleRow] = []
    queues = [strata[k] for k in sorted(strata)]
    depth = max((len(q) for q in queues), default=0)
    for i in range(depth):
        out += [q[i] for q in queues if i < len(q)]
    return out


def plan(
    rows: list[SampleRow],
    scales: dict[str, int],
    *,
    rater: str,
    n: int,
    overlap: float,
    seed: int,
    mine: set[str],
    others: set[str],
) -> list[Planned]:
    """The rater's `n` answers (those already rated by them included), in their presentation order.

    `mine`: answers this rater has rated; `others`: answers other raters have rated."""
    order = stratified(rows, seed)
    k = min(len(order), round(n * overlap))
    shared = order[:k]
    rest = [r for r in order[k:] if r.key in mine or r.key not in others]
    done = [r for r in rest if r.key in mine]
    fresh = [r for r in rest if r.key not in mine][: max(0, n - k - len(done))]
    chosen = [Planned(r, scales[r.key], True) for r in shared]
    chosen += [Planned(r, scales[r.key], False) for r in done + fresh]
    return sorted(chosen, key=lambda p: _rank(seed, rater, p.row.key))
