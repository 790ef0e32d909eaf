"""`usage ingest`: chat databases (and JSONL exports of the same events) into the store, incrementally.

Events are keyed by their `event_id`: ingesting the same database twice adds nothing, a grown database adds only
its new events, and a rating or /retry decision made after an earlier ingest updates the stored event.
"""

from __future__ import annotations

import json
import re
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llamune_eval.store.results import Store
from llamune_eval.store.schema import USAGE_SCHEMA as SCHEMA

__all__ = ["SCHEMA", "IngestResult", "ingest"]
from llamune_eval.types import InputError

COLUMNS = ("event_id", "source", "session_id", "message_id", "turn", "kind", "model", "preset", "params", "ttft_s",
           "latency_s", "prompt_tokens", "completion_tokens", "success", "error_kind", "adopted", "rating", "comment",
           "category", "created_at", "accuracy", "naturalness", "usefulness")  # fmt: skip


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
    except (sqlite3.Error, UnicodeDecodeError) as exc:  # UnicodeDecodeError: a damaged file's names are not text
        raise InputError(f"{path}: not a llamune chat database ({exc})") from exc
    return [dict(r) for r in rows]


def _from_jsonl(path: Path) -> list[dict[str, Any]]:
    rows = []
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 ({exc.reason} at byte {exc.start})") from exc
    except OSError as exc:  # a folder named like an export, no permission
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except (ValueError, RecursionError) as exc:  # RecursionError: nested deeper than Python's parser goes
            raise InputError(f"{path}:{n}: invalid JSON ({exc})") from exc
        if not isinstance(row, dict) or not isinstance(row.get("event_id"), str | int) or row["event_id"] == "":
            raise InputError(f"{path}:{n}: a usage event needs an event_id (a non-empty string)")
        rows.append(row)
    return rows


def _record(path: Path, row: dict[str, Any]) -> dict[str, Any]:
    """One chat-database row as a store row; a row no llamune wrote (no id, binary data) is refused by its id."""
    record = {c: row.get(c) for c in COLUMNS} | {"source": str(path)}
    if not isinstance(record["event_id"], str | int) or record["event_id"] == "":
        raise InputError(f"{path}: usage event in row {row.get('id')!r} has no event_id")
    for column, value in record.items():
        if isinstance(value, bytes):
            raise InputError(f"{path}: usage event {record['event_id']!r}: {column} is binary data")
    if isinstance(record["params"], str):
        try:
            json.loads(record["params"])
        except (ValueError, RecursionError) as exc:
            raise InputError(f"{path}: usage event {record['event_id']!r}: params is not JSON ({exc})") from exc
    for flag in ("success", "adopted"):
        if record[flag] is not None:
            record[flag] = bool(record[flag])
    return record


def ingest(store: Store, paths: list[Path]) -> list[IngestResult]:
    """Upsert every event of every source; returns how many were read and how many were new, per source."""
    import duckdb

    store.con.execute(SCHEMA)
    results = []
    for path in paths:
        if not path.exists():
            raise InputError(f"{path}: no such file")
        before = store.con.execute("SELECT count(*) FROM usage_events").fetchone()
        if path.suffix in (".jsonl", ".json"):
            read = _jsonl_direct(store, path)
            after = store.con.execute("SELECT count(*) FROM usage_events").fetchone()
            results.append(IngestResult(str(path), read, (after[0] if after else 0) - (before[0] if before else 0)))
            continue
        rows = _from_sqlite(path)
        if rows:
            records = [_record(path, r) for r in rows]
            with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False, encoding="utf-8") as tmp:
                for record in records:
                    tmp.write(json.dumps(record, ensure_ascii=False) + "\n")
            try:
                _bulk(store, Path(tmp.name))
            except duckdb.Error as exc:  # a value of the wrong type: named by its event (the line of the copy)
                first = str(exc).splitlines()[0]
                line = re.search(r"in line (\d+): (.*)", first)
                n = int(line.group(1)) if line else 0
                where = f" usage event {rows[n - 1]['event_id']!r}:" if 0 < n <= len(rows) else ""
                raise InputError(f"{path}:{where} cannot be stored ({line.group(2) if line else first})") from exc
            finally:
                Path(tmp.name).unlink(missing_ok=True)
        after = store.con.execute("SELECT count(*) FROM usage_events").fetchone()
        added = (after[0] if after else 0) - (before[0] if before else 0)
        results.append(IngestResult(str(path), len(rows), added))
    return results


def _columns(store: Store, source: str | None = None) -> tuple[str, str]:
    """read_json's column spec, and the SELECT list (with the source filled in when the file has none)."""
    types = dict(store.con.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'usage_events'"
    ).fetchall())  # fmt: skip
    read = [c for c in COLUMNS if not (source and c == "source")]
    spec = ", ".join(f"'{c}': '{'VARCHAR' if types[c] == 'JSON' else types[c]}'" for c in read)
    select = ", ".join("?" if source and c == "source" else c for c in COLUMNS)
    return spec, select


def _bulk(store: Store, jsonl: Path) -> None:
    spec, select = _columns(store)
    store.con.execute(
        f"INSERT OR REPLACE INTO usage_events SELECT {select} FROM read_json(?, format = 'newline_delimited', "
        f"columns = {{{spec}}})",
        [str(jsonl)],
    )


def _jsonl_direct(store: Store, path: Path) -> int:
    """A JSONL export straight into DuckDB (one parse, no Python per line); on a malformed file, the line at fault."""
    spec, select = _columns(store, str(path))
    con = store.con
    try:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE usage_file AS SELECT * FROM read_json(?, format = 'newline_delimited', "
            f"columns = {{{spec}}})",
            [str(path)],
        )
    except Exception as exc:
        _from_jsonl(path)  # names the file and line when a line is malformed
        raise InputError(f"{path}: cannot read usage events: {str(exc).splitlines()[0]}") from exc
    try:
        missing = con.execute("SELECT count(*) FROM usage_file WHERE event_id IS NULL").fetchone()
        if missing and missing[0]:
            _from_jsonl(path)
        bad = con.execute("SELECT event_id FROM usage_file WHERE NOT json_valid(params) LIMIT 1").fetchone()
        if bad:  # the store keeps params as JSON: a string that is not JSON text cannot go in
            raise InputError(f"{path}: usage event {bad[0]!r}: params is not JSON")
        counted = con.execute("SELECT count(*) FROM usage_file").fetchone()
        con.execute(f"INSERT OR REPLACE INTO usage_events SELECT {select} FROM usage_file", [str(path)])
    finally:
        con.execute("DROP TABLE IF EXISTS usage_file")
    return int(counted[0]) if counted else 0
