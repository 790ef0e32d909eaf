"""People's ratings of stored answers in the store (`records.HumanRating`), each written the moment it is given
so that a rating session quit or killed resumes where it stopped."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from llamune_eval.records import HumanRating
from llamune_eval.store.schema import RATING_COLUMNS

if TYPE_CHECKING:
    from llamune_eval.store.results import Store


def save(store: Store, ratings: Iterable[HumanRating]) -> int:
    """Store ratings (a rater's new rating of an answer replaces the old one); how many were written."""
    rows = [[getattr(r, c) for c in RATING_COLUMNS] for r in ratings]
    if rows:
        marks = ", ".join("?" for _ in RATING_COLUMNS)
        store.con.executemany(
            f"INSERT OR REPLACE INTO human_ratings ({', '.join(RATING_COLUMNS)}) VALUES ({marks})", rows
        )
    return len(rows)


def ratings(store: Store, rater: str | None = None) -> list[HumanRating]:
    """Every stored rating (one rater's with `rater`), in key order."""
    where, args = ("WHERE rater = ?", [rater]) if rater is not None else ("", [])
    rows = store.con.execute(
        f"SELECT {', '.join(RATING_COLUMNS)} FROM human_ratings {where} ORDER BY key", args
    ).fetchall()
    return [HumanRating.model_validate(dict(zip(RATING_COLUMNS, r, strict=True))) for r in rows]


def answers(store: Store) -> dict[str, tuple[str, str]]:
    """sample key -> (suite, item) of every stored answer: what an imported rating is about."""
    rows = store.con.execute("SELECT key, suite, item_id FROM samples").fetchall()
    return {k: (s, i) for k, s, i in rows}


def rated_by_others(store: Store, rater: str) -> set[str]:
    """The answers another rater has rated: a new rater's own share skips them (the overlap aside)."""
    rows = store.con.execute("SELECT DISTINCT sample_key FROM human_ratings WHERE rater <> ?", [rater]).fetchall()
    return {k for (k,) in rows}


def texts(store: Store, keys: list[str]) -> dict[str, tuple[str | None, str | None, str | None, str | None]]:
    """sample key -> (prompt, answer, reference, eval aspect) as stored (JSON text), for the answers shown."""
    if not keys:
        return {}
    rows = store.con.execute(
        "SELECT key, prompt::VARCHAR, output::VARCHAR, reference::VARCHAR, eval_aspect FROM samples_full "
        "WHERE key IN (SELECT unnest(?::VARCHAR[]))",
        [keys],
    ).fetchall()
    return {k: (p, o, r, a) for k, p, o, r, a in rows}
