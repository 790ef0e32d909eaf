"""The chat database: sessions, logical deletes for /rewind and /retry, usage events, and clear errors."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from llamune_eval.chat.db import Answer, ChatDB, ChatDBError


@pytest.fixture
def db(tmp_path: Path) -> ChatDB:
    return ChatDB(tmp_path / "chat.sqlite")


def _exchange(db: ChatDB, sid: str, turn: int, question: str, answer: str) -> int:
    db.add_message(sid, turn, "user", question)
    mid = db.add_message(sid, turn, "assistant", answer, model="qwen", preset="general")
    db.record_usage(sid, mid, "main", Answer(model="qwen", preset="general", ttft_s=0.2, latency_s=1.0,
                                             completion_tokens=12))  # fmt: skip
    return mid


def test_sessions_are_created_listed_and_logically_deleted(db: ChatDB) -> None:
    sid = db.create_session("qwen", "general")
    _exchange(db, sid, 1, "こんにちは", "こんにちは！")
    db.set_title(sid, "挨拶")
    [listed] = db.sessions()
    assert listed["title"] == "挨拶" and listed["turns"] == 1
    db.delete_session(sid)
    assert db.sessions() == [] and db.session(sid) is None
    assert len(db.usage(sid)) == 1  # usage survives a deleted session


def test_rewind_hides_later_turns_but_keeps_them(db: ChatDB) -> None:
    sid = db.create_session("qwen")
    for turn in (1, 2, 3):
        _exchange(db, sid, turn, f"q{turn}", f"a{turn}")
    assert db.rewind(sid, 1) == 4
    assert [m["content"] for m in db.history(sid)] == ["q1", "a1"]
    hidden = [m for m in db.history(sid, include_deleted=True) if m["deleted"]]
    assert len(hidden) == 4 and {m["deleted_reason"] for m in hidden} == {"rewind"}


@pytest.mark.parametrize("adopt", [True, False])
def test_retry_adopt_or_discard(db: ChatDB, adopt: bool) -> None:
    sid = db.create_session("qwen")
    old = _exchange(db, sid, 1, "q", "first answer")
    new = db.add_message(sid, 1, "assistant", "second answer", model="smol", source="retry")
    db.record_usage(sid, new, "retry", Answer(model="smol"))
    db.replace_answer(old, new, adopt=adopt)
    visible = [m["content"] for m in db.history(sid, sources=("main", "retry"))]
    assert visible == ["q", "second answer" if adopt else "first answer"]
    events = {e["message_id"]: e["adopted"] for e in db.usage(sid)}
    assert events == {old: int(not adopt), new: int(adopt)}


def test_ratings_and_artifacts(db: ChatDB) -> None:
    sid = db.create_session("qwen")
    mid = _exchange(db, sid, 1, "コードを書いて", "```python\nprint(1)\n```")
    db.rate(mid, -1, "間違い")
    [event] = db.usage(sid)
    assert (event["rating"], event["comment"]) == (-1, "間違い")
    db.add_artifact(sid, mid, "python", "print", "print(1)")
    assert db.artifacts(sid)[0]["language"] == "python"


def test_wal_mode_and_concurrent_reader(tmp_path: Path, db: ChatDB) -> None:
    assert db.con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    sid = db.create_session("qwen")
    reader = sqlite3.connect(tmp_path / "chat.sqlite")
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM messages").fetchone()  # a reader holds a snapshot
    _exchange(db, sid, 1, "q", "a")  # the writer is not blocked by it
    reader.close()


def test_corrupt_database_is_a_clear_error_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "chat.sqlite"
    path.write_bytes(b"this is not sqlite" * 100)
    before = path.read_bytes()
    with pytest.raises(ChatDBError, match="not a valid chat database"):
        ChatDB(path)
    assert path.read_bytes() == before


def test_locked_database_is_a_clear_error_and_loses_nothing(tmp_path: Path, db: ChatDB) -> None:
    sid = db.create_session("qwen")
    _exchange(db, sid, 1, "q", "a")
    other = sqlite3.connect(tmp_path / "chat.sqlite", isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # another process holds the write lock
    db.con.execute("PRAGMA busy_timeout = 100")
    with pytest.raises(ChatDBError, match="locked"):
        db.add_message(sid, 2, "user", "q2")
    other.execute("ROLLBACK")
    other.close()
    assert [m["content"] for m in db.history(sid)] == ["q", "a"]


def test_chat_runtime_imports_nothing_heavy() -> None:
    """The line editor and the engines included; and httpx without its own CLI (click, pygments), and no typer."""
    code = ("import sys, llamune_eval.chat.db, llamune_eval.chat.cli, llamune_eval.chat.runtime, "
            "llamune_eval.chat.repl, llamune_eval.chat.session_cmd, llamune_eval.chat.editor, llamune_eval.engines\n"
            "print(sorted(m for m in ('pandas','duckdb','scipy','datasets','numpy','typer','click','pygments') "
            "if m in sys.modules))")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60).stdout.strip()
    assert out == "[]"


def test_a_database_from_before_the_human_ratings_gains_their_columns(tmp_path: Path) -> None:
    db = ChatDB(tmp_path / "chat.sqlite")
    sid = db.create_session("m")
    mid = db.add_message(sid, 1, "assistant", "答え", model="m")
    db.record_usage(sid, mid, "main", Answer(model="m"))
    db.close()
    con = sqlite3.connect(tmp_path / "chat.sqlite")
    for column in ("accuracy", "naturalness", "usefulness"):
        con.execute(f"ALTER TABLE usage_events DROP COLUMN {column}")  # as version 1 wrote it
    con.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    con.commit()
    con.close()
    db = ChatDB(tmp_path / "chat.sqlite")
    db.rate_levels(mid, {"accuracy": 4, "usefulness": 2})
    [event] = db.usage()
    assert (event["accuracy"], event["naturalness"], event["usefulness"]) == (4, None, 2)
    assert db.con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0] == "3"


def test_listing_sessions_leaves_the_database_as_it_was(tmp_path: Path) -> None:
    """Found by the CLI fuzz: every open rewrote the schema version, so `llamune sessions` changed the file."""
    import hashlib

    db = ChatDB(tmp_path / "chat.sqlite")
    db.set_title(db.create_session("m"), "題")
    db.close()
    before = hashlib.sha256((tmp_path / "chat.sqlite").read_bytes()).hexdigest()
    for extra in ([], ["--json"]):
        proc = subprocess.run([sys.executable, "-m", "llamune_eval.chat.cli", "sessions", "--db", "chat.sqlite",
                               *extra], cwd=tmp_path, capture_output=True, text=True, timeout=60)  # fmt: skip
        assert proc.returncode == 0 and "題" in proc.stdout, proc.stderr
    assert hashlib.sha256((tmp_path / "chat.sqlite").read_bytes()).hexdigest() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chat.sqlite"]
