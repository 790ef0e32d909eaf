"""`usage ingest`: chat databases (and JSONL exports of the same events) into the store, incrementally.

Events are keyed by their `event_id`: ingesting the same database twice adds nothing, a grown database adds only
its new events, and a rating or /retry decision made after an earlier ingest updates the stored event.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from llamune_eval.records import CHAT_FIELDS, UsageEvent
from llamune_eval.store import usage as q
from llamune_eval.store.chat import chat_usage_events
from llamune_eval.store.results import Store
from llamune_eval.types import InputError


@dataclass
class IngestResult:
    source: str
    read: int
    added: int


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


def _record(path: Path, row: dict[str, Any]) -> UsageEvent:
    """One chat-database row as a store event; a row no llamune wrote (no id, binary data, a value of the wrong
    type) is refused by its id."""
    fields = {c: row[c] for c in CHAT_FIELDS} | {"source": str(path), "turn": row["turn"]}
    event_id = fields["event_id"]
    if not isinstance(event_id, str) or event_id == "":
        raise InputError(f"{path}: usage event in row {row.get('id')!r} has no event_id")
    for column, value in fields.items():
        if isinstance(value, bytes):
            raise InputError(f"{path}: usage event {event_id!r}: {column} is binary data")
    if isinstance(fields["params"], str):
        try:
            json.loads(fields["params"])
        except (ValueError, RecursionError) as exc:
            raise InputError(f"{path}: usage event {event_id!r}: params is not JSON ({exc})") from exc
    try:
        return UsageEvent.model_validate(fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InputError(f"{path}: usage event {event_id!r}: {where}: {first['msg']}") from exc


def ingest(store: Store, paths: list[Path]) -> list[IngestResult]:
    """Upsert every event of every source; returns how many were read and how many were new, per source."""
    results = []
    for path in paths:
        if not path.exists():
            raise InputError(f"{path}: no such file")
        before = q.event_count(store)
        if path.suffix in (".jsonl", ".json"):
            read = q.ingest_jsonl(store, path, functools.partial(_from_jsonl, path))  # it names a malformed line
            results.append(IngestResult(str(path), read, q.event_count(store) - before))
            continue
        rows = chat_usage_events(path)
        if rows:
            records = [_record(path, r) for r in rows]
            try:
                q.upsert_events(store, records)
            except q.UsageRowError as exc:  # a value of the wrong type: named by its event
                where = f" usage event {rows[exc.line - 1]['event_id']!r}:" if 0 < exc.line <= len(rows) else ""
                raise InputError(f"{path}:{where} cannot be stored ({exc.reason})") from exc
        results.append(IngestResult(str(path), len(rows), q.event_count(store) - before))
    return results
