"""The chat runtime's SQLite database: sessions, messages, usage events and artifacts.

Its schema is a contract: `llamune-eval usage ingest` reads it. Nothing is ever deleted by the runtime — /rewind
and a displaced /retry answer are logical deletes — so usage data for the next quarter is never lost. WAL mode
lets background answers be written while the main answer streams; one lock serialises the writers.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from llamune_eval.records import CHAT_FIELDS, RATING_CRITERIA, UsageEvent

SCHEMA_VERSION = 3  # 2: the three 5-level human ratings on usage events; 3: what was sent to the usage drop
LEVELS = tuple(RATING_CRITERIA)  # 回答の正確性, 日本語の自然さ, 有用性: 1-5 each
SQLITE_HEADER = b"SQLite format 3\x00"
SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY, title TEXT, model TEXT, preset TEXT, system_prompt TEXT,
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL, deleted INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT, session_id TEXT NOT NULL REFERENCES sessions(id), turn INTEGER NOT NULL,
    role TEXT NOT NULL, content TEXT NOT NULL, model TEXT, preset TEXT, params TEXT, source TEXT NOT NULL,
    adopted INTEGER, deleted INTEGER NOT NULL DEFAULT 0, deleted_reason TEXT, created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_session ON messages(session_id, turn);
CREATE TABLE IF NOT EXISTS usage_events (  -- records.UsageEvent's CHAT_FIELDS, between id and revision
    id INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL UNIQUE, session_id TEXT, message_id INTEGER,
    kind TEXT NOT NULL, model TEXT, preset TEXT, params TEXT, ttft_s REAL, latency_s REAL, prompt_tokens INTEGER,
    completion_tokens INTEGER, success INTEGER, error_kind TEXT, adopted INTEGER, rating INTEGER, comment TEXT,
    category TEXT, created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS artifacts (
    id INTEGER PRIMARY KEY AUTOINCREMENT, session_id TEXT NOT NULL, message_id INTEGER NOT NULL, language TEXT,
    title TEXT, content TEXT NOT NULL, created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS usage_sent (
    event_id TEXT PRIMARY KEY, digest TEXT NOT NULL, drop_file TEXT NOT NULL, sent_at TEXT NOT NULL,
    revision INTEGER NOT NULL DEFAULT 0
);
"""
ADDED = {column: "INTEGER" for column in LEVELS} | {"revision": "INTEGER NOT NULL DEFAULT 0"}  # since the first
# An event changed after it was recorded (/good, /rate, /retry, /category) counts one revision more: what the usage
# drop has not received is then found without reading every event again (`pending`).
REVISED = f"""
CREATE TRIGGER IF NOT EXISTS usage_revised AFTER UPDATE OF adopted, rating, comment, category, {", ".join(LEVELS)}
    ON usage_events
BEGIN UPDATE usage_events SET revision = revision + 1 WHERE id = NEW.id; END;
"""


class ChatDBError(RuntimeError):
    """The database cannot be used (corrupt, locked, unwritable); the message says which and what to do."""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass
class Answer:
    """What an answer's usage event records."""

    model: str
    preset: str | None = None
    params: dict[str, Any] | None = None
    ttft_s: float | None = None
    latency_s: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    success: bool = True
    error_kind: str | None = None
    category: str | None = None


class ChatDB:
    def __init__(self, path: str | Path, *, timeout: float = 5.0) -> None:
        self.path = Path(path)
        self.lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if not self.path.exists():  # conversations: owner-only from the first byte (the WAL inherits it)
                self.path.touch(mode=0o600)
            elif self.path.is_file() and self.path.stat().st_size:
                with self.path.open("rb") as f:  # SQLite takes a short file of anything as empty, and writes over it
                    if f.read(16) != SQLITE_HEADER:
                        raise sqlite3.DatabaseError("not an SQLite database")
            self.con = sqlite3.connect(self.path, timeout=timeout, check_same_thread=False, isolation_level=None)
            self.con.row_factory = sqlite3.Row
            if self.con.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise sqlite3.DatabaseError("quick_check failed")
            self.con.execute("PRAGMA journal_mode=WAL")
            self.con.execute("PRAGMA foreign_keys=ON")
            self.con.executescript(SCHEMA)
            have = {r[1] for r in self.con.execute("PRAGMA table_info(usage_events)")}
            for column, kind in ADDED.items():  # a database written before a column gains it
                if column not in have:
                    self.con.execute(f"ALTER TABLE usage_events ADD COLUMN {column} {kind}")
            if self.con.execute("SELECT 1 FROM sqlite_master WHERE name = 'usage_revised'").fetchone() is None:
                self.con.executescript(REVISED)
            if self.meta("schema_version") != str(SCHEMA_VERSION):  # written once: reading leaves the file as it was
                self.con.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc):
                raise ChatDBError(f"{self.path} is locked by another process; close it or wait") from exc
            raise ChatDBError(f"{self.path}: cannot open the chat database: {exc}") from exc
        except sqlite3.DatabaseError as exc:
            raise ChatDBError(
                f"{self.path} is not a valid chat database ({exc}); it was left untouched — move it aside to start "
                "a new one"
            ) from exc

    def close(self) -> None:
        self.con.close()

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One writer at a time, one transaction per write: background answers never interleave half-written."""
        with self.lock:
            try:
                self.con.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise ChatDBError(f"{self.path} is locked by another process; nothing was written") from exc
            try:
                yield self.con
                self.con.execute("COMMIT")
            except BaseException:
                self.con.execute("ROLLBACK")
                raise

    # sessions
    def create_session(self, model: str, preset: str | None = None, system_prompt: str | None = None) -> str:
        sid = uuid.uuid4().hex[:12]
        with self.write() as con:
            con.execute(
                "INSERT INTO sessions (id, model, preset, system_prompt, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (sid, model, preset, system_prompt, _now(), _now()),
            )
        return sid

    def sessions(self) -> list[dict[str, Any]]:
        rows = self.con.execute(
            "SELECT s.*, (SELECT count(*) FROM messages m WHERE m.session_id = s.id AND NOT m.deleted "
            "AND m.role = 'user') AS turns FROM sessions s WHERE NOT deleted ORDER BY updated_at DESC"
        )
        return [dict(r) for r in rows]

    def session(self, sid: str) -> dict[str, Any] | None:
        row = self.con.execute("SELECT * FROM sessions WHERE id = ? AND NOT deleted", (sid,)).fetchone()
        return dict(row) if row else None

    def set_title(self, sid: str, title: str) -> None:
        with self.write() as con:
            con.execute("UPDATE sessions SET title = ?, updated_at = ? WHERE id = ?", (title, _now(), sid))

    def update_session(self, sid: str, **fields: Any) -> None:
        allowed = {k: v for k, v in fields.items() if k in ("model", "preset", "system_prompt", "title")}
        if not allowed:
            return
        sets = ", ".join(f"{k} = ?" for k in allowed)
        with self.write() as con:
            con.execute(f"UPDATE sessions SET {sets}, updated_at = ? WHERE id = ?", (*allowed.values(), _now(), sid))

    def delete_session(self, sid: str) -> None:
        """Logical: the session disappears from lists, its messages and usage stay for the quarter's figures."""
        with self.write() as con:
            con.execute("UPDATE sessions SET deleted = 1, updated_at = ? WHERE id = ?", (_now(), sid))

    # messages
    def add_message(
        self,
        sid: str,
        turn: int,
        role: str,
        content: str,
        *,
        source: str = "main",
        model: str | None = None,
        preset: str | None = None,
        params: dict[str, Any] | None = None,
        adopted: bool | None = None,
    ) -> int:
        with self.write() as con:
            cur = con.execute(
                "INSERT INTO messages (session_id, turn, role, content, model, preset, params, source, adopted, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    sid,
                    turn,
                    role,
                    content,
                    model,
                    preset,
                    json.dumps(params) if params else None,
                    source,
                    None if adopted is None else int(adopted),
                    _now(),
                ),
            )
            con.execute("UPDATE sessions SET updated_at = ? WHERE id = ?", (_now(), sid))
            return int(cur.lastrowid or 0)

    def history(
        self, sid: str, *, include_deleted: bool = False, sources: tuple[str, ...] = ("main",)
    ) -> list[dict[str, Any]]:
        marks = ",".join("?" * len(sources))
        sql = f"SELECT * FROM messages WHERE session_id = ? AND source IN ({marks})"
        if not include_deleted:
            sql += " AND NOT deleted"
        return [dict(r) for r in self.con.execute(sql + " ORDER BY turn, id", (sid, *sources))]

    def rewind(self, sid: str, turn: int) -> int:
        """Logically delete everything after user turn `turn`; returns how many messages were hidden."""
        with self.write() as con:
            cur = con.execute(
                "UPDATE messages SET deleted = 1, deleted_reason = 'rewind' WHERE session_id = ? "
                "AND turn > ? AND NOT deleted",
                (sid, turn),
            )
            return int(cur.rowcount)

    def replace_answer(self, old_id: int, new_id: int, adopt: bool) -> None:
        """/retry: adopting hides the displaced answer (logical delete); discarding hides the new one."""
        hidden, kept = (old_id, new_id) if adopt else (new_id, old_id)
        with self.write() as con:
            con.execute(
                "UPDATE messages SET deleted = 1, deleted_reason = 'retry', adopted = 0 WHERE id = ?", (hidden,)
            )
            con.execute("UPDATE messages SET adopted = 1 WHERE id = ?", (kept,))
            con.execute(
                "UPDATE usage_events SET adopted = (message_id = ?) WHERE message_id IN (?, ?)", (kept, old_id, new_id)
            )

    # usage
    def record_usage(self, sid: str | None, message_id: int | None, kind: str, answer: Answer) -> str:
        event = UsageEvent(
            event_id=uuid.uuid4().hex,
            session_id=sid,
            message_id=message_id,
            kind=kind,
            model=answer.model,
            preset=answer.preset,
            params=json.dumps(answer.params) if answer.params else None,
            ttft_s=answer.ttft_s,
            latency_s=answer.latency_s,
            prompt_tokens=answer.prompt_tokens,
            completion_tokens=answer.completion_tokens,
            success=answer.success,
            error_kind=answer.error_kind,
            category=answer.category,
            created_at=datetime.now(UTC),
        )
        values = [getattr(event, c) for c in CHAT_FIELDS]  # by the record's fields: a renamed one fails here
        values[CHAT_FIELDS.index("created_at")] = event.created_at.isoformat(timespec="milliseconds")
        with self.write() as con:
            marks = ", ".join("?" for _ in CHAT_FIELDS)
            con.execute(f"INSERT INTO usage_events ({', '.join(CHAT_FIELDS)}) VALUES ({marks})", values)
        return event.event_id

    def set_category(self, sid: str, turn: int, category: str) -> int:
        """The user's /category for a turn: every usage event of its answers carries it."""
        with self.write() as con:
            cur = con.execute(
                "UPDATE usage_events SET category = ? WHERE session_id = ? AND message_id IN "
                "(SELECT id FROM messages WHERE session_id = ? AND turn = ?)",
                (category, sid, sid, turn),
            )
            return int(cur.rowcount)

    def rate(self, message_id: int, rating: int, comment: str | None = None) -> None:
        """/good (+1) and /bad (-1), with an optional comment, on the answer's usage event."""
        with self.write() as con:
            con.execute(
                "UPDATE usage_events SET rating = ?, comment = ? WHERE message_id = ?", (rating, comment, message_id)
            )

    def meta(self, key: str) -> str | None:
        row = self.con.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        with self.write() as con:
            con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def rate_levels(self, message_id: int, levels: dict[str, int], comment: str | None = None) -> None:
        """/rate: the specification's 人間評価 (正確性, 日本語の自然さ, 有用性, 1-5 each) on the answer's usage event;
        a criterion left out keeps its earlier value."""
        with self.write() as con:
            for column, value in levels.items():
                if column in LEVELS:
                    con.execute(f"UPDATE usage_events SET {column} = ? WHERE message_id = ?", (value, message_id))
            if comment:
                con.execute("UPDATE usage_events SET comment = ? WHERE message_id = ?", (comment, message_id))

    def usage_rows(self, since: str | None = None) -> list[dict[str, Any]]:
        """Every usage event (from `since`, an ISO date or time, on), with the turn of its message: what an export
        or a drop builds its content-free events from."""
        return _usage_rows(self.con, since)

    def sent_digests(self) -> dict[str, str]:
        """event_id -> the digest of what the drop last received of it."""
        return {r[0]: r[1] for r in self.con.execute("SELECT event_id, digest FROM usage_sent")}

    def mark_sent(self, sent: list[tuple[str, str, int]], drop_file: str) -> None:
        """(event_id, digest, revision) of the events now whole at the drop, in `drop_file`."""
        rows = [(e, d, drop_file, _now(), r) for e, d, r in sent]
        with self.write() as con:
            con.executemany("INSERT OR REPLACE INTO usage_sent VALUES (?, ?, ?, ?, ?)", rows)

    def mark_revised(self, revised: list[tuple[str, int]]) -> None:
        """(event_id, revision) of sent events that changed only in what is never shared: nothing to upload."""
        with self.write() as con:
            con.executemany("UPDATE usage_sent SET revision = ? WHERE event_id = ?", [(r, e) for e, r in revised])

    def usage(self, sid: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT * FROM usage_events" + (" WHERE session_id = ?" if sid else "") + " ORDER BY id"
        return [dict(r) for r in self.con.execute(sql, (sid,) if sid else ())]

    # artifacts
    def add_artifact(self, sid: str, message_id: int, language: str | None, title: str, content: str) -> int:
        with self.write() as con:
            cur = con.execute(
                "INSERT INTO artifacts (session_id, message_id, language, title, content, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (sid, message_id, language, title, content, _now()),
            )
            return int(cur.lastrowid or 0)

    def artifacts(self, sid: str) -> list[dict[str, Any]]:
        return [dict(r) for r in self.con.execute("SELECT * FROM artifacts WHERE session_id = ? ORDER BY id", (sid,))]


def _usage_rows(con: sqlite3.Connection, since: str | None, *, unsent: bool = False) -> list[dict[str, Any]]:
    """The events with their turn; `unsent`: only those the drop has not received in their current revision, with
    the digest of what it did receive (`sent_digest`)."""
    where, args = ("WHERE u.created_at >= ?", [since]) if since else ("", [])
    tracked = con.execute("SELECT 1 FROM sqlite_master WHERE name = 'usage_sent'").fetchone() is not None
    if unsent and tracked:
        where += (" AND " if where else "WHERE ") + "(s.event_id IS NULL OR u.revision > s.revision)"
    sent = "LEFT JOIN usage_sent s ON s.event_id = u.event_id" if tracked else ""  # a database before version 3
    sql = (
        f"SELECT u.*, m.turn AS turn, {'s.digest' if tracked else 'NULL'} AS sent_digest FROM usage_events u "
        f"LEFT JOIN messages m ON m.id = u.message_id {sent} {where}"
    )
    return [dict(r) for r in con.execute(sql + " ORDER BY u.id", args)]


def usage_event(row: dict[str, Any]) -> UsageEvent:
    """A `usage_rows` row as its record: `CHAT_FIELDS` and its message's turn, by name (a column the row lacks is a
    KeyError, never a NULL); only the /rate criteria may be missing, in a database from before schema 2."""
    return UsageEvent.model_validate({c: row.get(c) if c in LEVELS else row[c] for c in (*CHAT_FIELDS, "turn")})


def read_usage_rows(path: Path, since: str | None = None, *, unsent: bool = False) -> list[dict[str, Any]]:
    """`usage_rows` of a database opened read-only, on a connection of its own: an export leaves the file exactly
    as it was, and an upload reads in a thread of its own while the session writes."""
    try:
        with path.open("rb") as f:
            if f.read(16) != SQLITE_HEADER:
                raise sqlite3.DatabaseError("not an SQLite database")
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        con.row_factory = sqlite3.Row
        try:
            return _usage_rows(con, since, unsent=unsent)
        finally:
            con.close()
    except OSError as exc:
        raise ChatDBError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    except sqlite3.Error as exc:
        raise ChatDBError(f"{path} is not a readable chat database ({exc}); it was left untouched") from exc
