"""`usage ingest`: chat databases (and JSONL exports of the same events) into the store, incrementally.

Events are keyed by their `event_id`: ingesting the same database twice adds nothing, a grown database adds only
its new events, and a rating or /retry decision made after an earlier ingest updates the stored event.
"""

from __future__ import annotations

import json
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llamune_eval.store.results import Store
from llamune_eval.types import InputError

SCHEMA = """
CREATE TABLE IF NOT EXISTS usage_events (
    event_id VARCHAR PRIMARY KEY, source VARCHAR, session_id VARCHAR, message_id BIGINT, turn INTEGER,
    kind VARCHAR, model VARCHAR, preset VARCHAR, params JSON, ttft_s DOUBLE, latency_s DOUBLE,
    prompt_tokens INTEGER, completion_tokens INTEGER, success BOOLEAN, error_kind VARCHAR, adopted BOOLEAN,
    rating INTEGER, comment VARCHAR, category VARCHAR, created_at TIMESTAMP
);
"""
COLUMNS = ("event_id", "source", "session_id", "message_id", "turn", "kind", "model", "preset", "params", "ttft_s",
           "latency_s", "prompt_tokens", "completion_tokens", "success", "error_kind", "adopted", "rating", "comment",
           "category", "created_at")  # fmt: skip


@dataclass
class IngestResult:
    source: str
    read: int
    added: int


def _from_sqlite(path: Path) -> list[dict[str, Any]]:
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        con.row_factory = sqlite3.Row
        rows = con.execute(
            "SELECT u.*, m.turn AS turn FROM usage_events u LEFT JOIN messages m ON m.id = u.message_id"
        ).fetchall()
        con.close()
    except sqlite3.Error as exc:
        raise InputError(f"{path}: not a llamune chat database ({exc})") from exc
    return [dict(r) for r in rows]


def _from_jsonl(path: Path) -> list[dict[str, Any]]:
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise InputError(f"{path}:{n}: invalid JSON ({exc})") from exc
        if not isinstance(row, dict) or "event_id" not in row:
            raise InputError(f"{path}:{n}: a usage event needs an event_id")
        rows.append(row)
    return rows


def ingest(store: Store, paths: list[Path]) -> list[IngestResult]:
    """Upsert every event of every source; returns how many were read and how many were new, per source."""
    store.con.execute(SCHEMA)
    results = []
    for path in paths:
        if not path.exists():
            raise InputError(f"{path}: no such file")
        rows = _from_jsonl(path) if path.suffix in (".jsonl", ".json") else _from_sqlite(path)
        before = store.con.execute("SELECT count(*) FROM usage_events").fetchone()
        if rows:
            with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False, encoding="utf-8") as tmp:
                for r in rows:
                    record = {c: r.get(c) for c in COLUMNS} | {"source": str(path)}
                    for flag in ("success", "adopted"):
                        if record[flag] is not None:
                            record[flag] = bool(record[flag])
                    tmp.write(json.dumps(record, ensure_ascii=False) + "\n")
            try:
                _bulk(store, Path(tmp.name))
            finally:
                Path(tmp.name).unlink(missing_ok=True)
        after = store.con.execute("SELECT count(*) FROM usage_events").fetchone()
        added = (after[0] if after else 0) - (before[0] if before else 0)
        results.append(IngestResult(str(path), len(rows), added))
    return results


def _bulk(store: Store, jsonl: Path) -> None:
    types = dict(store.con.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'usage_events'"
    ).fetchall())  # fmt: skip
    columns = ", ".join(f"'{c}': '{'VARCHAR' if types[c] == 'JSON' else types[c]}'" for c in COLUMNS)
    store.con.execute(
        f"INSERT OR REPLACE INTO usage_events SELECT {', '.join(COLUMNS)} FROM read_json(?, "
        f"format = 'newline_delimited', columns = {{{columns}}})",
        [str(jsonl)],
    )
