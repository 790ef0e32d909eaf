"""Queries of the usage events that the quarter's decision and the UsageMetrics read: per model answers, successes
and ratings; per task category; /retry decisions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from llamune_eval.store.results import Store

QUARTER_OF = "strftime(created_at, '%Y') || '-Q' || quarter(created_at)"
ANSWERS = "kind IN ('main', 'background', 'retry')"


def _period(period: str | None) -> tuple[str, list[Any]]:
    return (f"AND {QUARTER_OF} = ?", [period]) if period else ("", [])


def events_per_quarter(store: Store) -> dict[str, int]:
    rows = store.con.execute(f"SELECT {QUARTER_OF} AS q, count(*) FROM usage_events GROUP BY q ORDER BY q")
    return {q: n for q, n in rows.fetchall()}


def per_model(store: Store, period: str | None) -> list[tuple[str, int, int, int, int, int]]:
    """(model, answers, successes, ratings, thumbs up, thumbs down) of the answers in `period` (None: all)."""
    where, params = _period(period)
    return [tuple(r) for r in store.con.execute(
        "SELECT model, count(*), count(*) FILTER (WHERE success), count(rating), count(*) FILTER (WHERE rating > 0), "
        f"count(*) FILTER (WHERE rating < 0) FROM usage_events WHERE {ANSWERS} AND model IS NOT NULL {where} "
        "GROUP BY model ORDER BY model", params).fetchall()]  # fmt: skip


def per_category(store: Store, period: str | None) -> list[tuple[str, str, int, int]]:
    """(category, model, answers, successes); answers without a category are 'general'."""
    where, params = _period(period)
    return [tuple(r) for r in store.con.execute(
        "SELECT coalesce(category, 'general'), model, count(*), count(*) FILTER (WHERE success) FROM usage_events "
        f"WHERE {ANSWERS} AND model IS NOT NULL {where} GROUP BY ALL ORDER BY 1, 2", params).fetchall()]  # fmt: skip


def retry_decisions(store: Store, period: str | None, *, by_preset: bool = False) -> list[tuple[str, str]]:
    """(winner, loser) for every /retry decision: the adopted answer beat the one it displaced. By model (answers
    of the same model ignored), or with `by_preset` by `model:preset`."""
    who = "{0}.model || ':' || coalesce({0}.preset, '')" if by_preset else "{0}.model"
    where = "AND strftime(w.created_at, '%Y') || '-Q' || quarter(w.created_at) = ?" if period else ""
    rows = store.con.execute(
        f"SELECT {who.format('w')}, {who.format('l')} FROM usage_events w JOIN usage_events l "
        "ON w.source = l.source AND w.session_id = l.session_id AND w.turn = l.turn AND w.adopted AND NOT l.adopted "
        f"AND w.event_id <> l.event_id {'' if by_preset else 'AND w.model <> l.model'} {where}",
        [period] if period else [],
    ).fetchall()
    return [(w, loser) for w, loser in rows]
