"""The one read of a chat database (SQLite, written by the chat runtime; its tables are `chat/db.py`'s) on the
evaluation side: its usage events for `usage ingest`, opened read-only so ingesting never changes the file."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from llamune_eval.types import InputError


def chat_usage_events(path: Path) -> list[dict[str, Any]]:
    """Every usage event of the database, with the turn of its message."""
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        con.row_factory = sqlite3.Row
        rows = con.execute(
            "SELECT u.*, m.turn AS turn FROM usage_events u LEFT JOIN messages m ON m.id = u.message_id"
        ).fetchall()
        con.close()
    except (sqlite3.Error, UnicodeDecodeError) as exc:  # UnicodeDecodeError: a damaged file's names are not text
        raise InputError(f"{path}: not a llamune chat database ({exc})") from exc
    return [dict(r) for r in rows]
