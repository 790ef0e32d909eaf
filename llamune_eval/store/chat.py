"""The one read of a chat database (SQLite, written by the chat runtime; its tables are `chat/db.py`'s) on the
evaluation side: its usage events for `usage ingest`, opened read-only so ingesting never changes the file.

The columns read are `records.CHAT_FIELDS` by name, so a column the database lacks is an error naming the file,
never a NULL; only the /rate criteria may be missing (a database from before schema 2 that no newer chat opened).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from llamune_eval.records import CHAT_FIELDS, RATING_CRITERIA
from llamune_eval.types import InputError


def chat_usage_events(path: Path) -> list[dict[str, Any]]:
    """Every usage event of the database by `UsageEvent`'s field names, with the turn of its message and the
    event's row `id` (which names an event that has no `event_id`)."""
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            con.row_factory = sqlite3.Row
            have = {r[1] for r in con.execute("PRAGMA table_info(usage_events)")}
            columns = [f"NULL AS {c}" if c in RATING_CRITERIA and c not in have else f"u.{c}" for c in CHAT_FIELDS]
            rows = con.execute(
                f"SELECT {', '.join(columns)}, m.turn AS turn, u.id AS id FROM usage_events u "
                "LEFT JOIN messages m ON m.id = u.message_id"
            ).fetchall()
        finally:
            con.close()
    except (sqlite3.Error, UnicodeDecodeError) as exc:  # UnicodeDecodeError: a damaged file's names are not text
        raise InputError(f"{path}: not a llamune chat database ({exc})") from exc
    return [dict(r) for r in rows]
