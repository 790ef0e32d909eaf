"""A raced quarter in the store: per configuration, how many items it answered and why it stopped; and the stored
values a resumed race reads back instead of asking again."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from llamune_eval.store.results import now

if TYPE_CHECKING:
    from llamune_eval.store.results import Store


@dataclass(frozen=True)
class RaceRow:
    model: str
    preset: str
    reason: str  # settled-worse, cannot-replace, settled-best, complete, budget, fits-no-tier
    items: int  # items the configuration answered
    total: int  # items in the race's order
    by: str | None  # model:preset that settled it worse, or the incumbent it cannot replace
    seed: int
    budget: int | None  # requests the race could spend (None: no budget)
    spent: int  # requests the race spent, over every configuration
    full: int | None = None  # requests a full run of the same plan makes (None: items x configurations)


@dataclass(frozen=True)
class StoredSample:
    ok: bool
    pending: bool
    values: dict[str, float]


def save_race(store: Store, quarter: str, run_id: str, rows: Sequence[RaceRow]) -> None:
    """The quarter's race, replacing an earlier race of the quarter (a resumed race writes the same rows)."""
    con = store.con
    con.execute("BEGIN")
    try:
        con.execute("DELETE FROM races WHERE quarter = ?", [quarter])
        con.executemany(
            "INSERT INTO races VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                [
                    q,
                    r.model,
                    r.preset,
                    run_id,
                    r.reason,
                    r.items,
                    r.total,
                    r.by,
                    r.seed,
                    r.budget,
                    r.spent,
                    r.full,
                    now(),
                ]
                for q, r in ((quarter, r) for r in rows)
            ],
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def clear_race(store: Store, quarter: str) -> None:
    """A quarter run in full is not raced any more."""
    store.con.execute("DELETE FROM races WHERE quarter = ?", [quarter])


def race_rows(store: Store, quarter: str | None) -> list[RaceRow]:
    """The quarter's race, by model and preset (empty when the quarter was not raced)."""
    if quarter is None:
        return []
    got = store.con.execute(
        "SELECT model, preset, reason, items, total, by_config, seed, budget, spent, full_run FROM races "
        "WHERE quarter = ? ORDER BY model, preset",
        [quarter],
    ).fetchall()
    return [RaceRow(*row) for row in got]


def full_run(rows: Sequence[RaceRow]) -> int:
    """The requests a full run of the raced plan makes: as recorded, else every item for every configuration."""
    recorded = next((r.full for r in rows if r.full is not None), None)
    return recorded if recorded is not None else sum(r.total for r in rows)


def stored_samples(store: Store, keys: Iterable[str]) -> dict[str, StoredSample]:
    """The answered samples among `keys` with their score values (a resumed race reads these back)."""
    wanted = list(keys)
    if not wanted:
        return {}
    out: dict[str, StoredSample] = {}
    rows = store.con.execute(
        "SELECT s.key, s.status = 'ok', coalesce(s.pending_judge, false), c.metric, c.value "
        "FROM samples s LEFT JOIN scores c ON c.key = s.key "
        "WHERE s.status = 'ok' AND s.key IN (SELECT unnest(?::VARCHAR[])) ORDER BY s.key, c.metric",
        [wanted],
    ).fetchall()
    for key, ok, pending, metric, value in rows:
        got = out.setdefault(key, StoredSample(bool(ok), bool(pending), {}))
        if metric is not None and value is not None:
            got.values[metric] = float(value)
    return out
