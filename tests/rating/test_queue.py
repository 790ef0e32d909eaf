"""Which answers a rater sees: stratified by suite x configuration, the same items across configurations first,
the overlap shared by every rater, the rest split between raters, and a presentation order that hides the
strata."""

from __future__ import annotations

from collections import Counter

from llamune_eval.rating.queue import plan, stratified
from tests.recommend._synthetic import row

CONFIGS = [("a", "fast"), ("a", "general"), ("b", "general")]


def _rows(items: int = 10) -> list:
    return [row(m, p, s, i, kind="inhouse") for s in ("writing", "summary") for m, p in CONFIGS for i in range(items)]


def test_strata_take_turns_and_share_their_items() -> None:
    order = stratified(_rows(), seed=0)
    assert len(order) == 60 and len({r.key for r in order}) == 60
    first = order[:6]  # one answer of each of the 6 strata
    assert Counter((r.suite, r.model, r.preset) for r in first) == Counter(
        {(s, m, p): 1 for s in ("writing", "summary") for m, p in CONFIGS})  # fmt: skip
    # within a suite every configuration answers the same item first: pairs to order
    assert len({r.item_id for r in first if r.suite == "writing"}) == 1
    assert stratified(_rows(), seed=0) == order and stratified(_rows(), seed=1) != order


def test_the_overlap_is_shared_and_the_rest_is_split() -> None:
    rows = _rows()
    scales = {r.key: 10 for r in rows}
    ann = plan(rows, scales, rater="ann", n=10, overlap=0.2, seed=0, mine=set(), others=set())
    shared = {p.row.key for p in ann if p.shared}
    assert len(ann) == 10 and len(shared) == 2
    ann_keys = {p.row.key for p in ann}
    ben = plan(rows, scales, rater="ben", n=10, overlap=0.2, seed=0, mine=set(), others=ann_keys)
    assert {p.row.key for p in ben if p.shared} == shared
    assert ({p.row.key for p in ben} - shared).isdisjoint(ann_keys)  # ben's own answers are none of ann's
    # the presentation order is the rater's own, not the strata's
    assert [p.row.key for p in ann] != [r.key for r in stratified(rows, 0) if r.key in ann_keys]


def test_a_resumed_queue_keeps_what_the_rater_already_rated() -> None:
    rows = _rows()
    scales = {r.key: 10 for r in rows}
    first = plan(rows, scales, rater="ann", n=10, overlap=0.0, seed=0, mine=set(), others=set())
    done = {p.row.key for p in first[:4]}
    # meanwhile ben rated two of the answers ann had not reached
    taken = {p.row.key for p in first[4:6]}
    again = plan(rows, scales, rater="ann", n=10, overlap=0.0, seed=0, mine=done, others=taken)
    keys = {p.row.key for p in again}
    assert len(again) == 10 and done <= keys and not (taken & keys)
