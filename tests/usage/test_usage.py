"""Usage ingest from chat databases made by the runtime's own storage: idempotent, incremental, UsageMetrics."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from llamune_eval.chat.db import Answer, ChatDB
from llamune_eval.store.results import Store
from llamune_eval.types import InputError
from llamune_eval.usage import ingest, usage_metrics


def _exchange(db: ChatDB, sid: str, turn: int, model: str = "qwen", ok: bool = True) -> int:
    db.add_message(sid, turn, "user", f"q{turn}")
    mid = db.add_message(sid, turn, "assistant", f"a{turn}", model=model, preset="general")
    db.record_usage(sid, mid, "main", Answer(model=model, preset="general", latency_s=1.5, success=ok,
                                             error_kind=None if ok else "timeout"))  # fmt: skip
    return mid


@pytest.fixture
def chat_db(tmp_path: Path) -> tuple[ChatDB, str]:
    db = ChatDB(tmp_path / "chat.sqlite")
    sid = db.create_session("qwen", "general")
    first = _exchange(db, sid, 1)
    _exchange(db, sid, 2, ok=False)
    retry = db.add_message(sid, 1, "assistant", "better", model="smol", preset="code", source="retry")
    db.record_usage(sid, retry, "retry", Answer(model="smol", preset="code", latency_s=0.5))
    db.replace_answer(first, retry, adopt=True)
    db.rate(retry, 1, "わかりやすい")
    return db, sid


def test_ingest_is_idempotent_and_incremental(tmp_path: Path, chat_db: tuple[ChatDB, str]) -> None:
    db, sid = chat_db
    with Store(tmp_path / "r.duckdb") as store:
        [first] = ingest(store, [db.path])
        assert (first.read, first.added) == (3, 3)
        [again] = ingest(store, [db.path])
        assert again.added == 0
        _exchange(db, sid, 3)  # the database grows
        db.rate(1 + 1, -1, "遅い")  # and an old answer is rated after the first ingest
        [grown] = ingest(store, [db.path])
        assert (grown.read, grown.added) == (4, 1)
        ratings = dict(store.con.execute("SELECT message_id, rating FROM usage_events").fetchall())
        assert ratings[2] == -1


def test_usage_metrics(tmp_path: Path, chat_db: tuple[ChatDB, str]) -> None:
    db, _ = chat_db
    with Store(tmp_path / "r.duckdb") as store:
        ingest(store, [db.path])
        m = usage_metrics(store)
        assert m["modelUsage"]["qwen"]["count"] == 2 and m["modelUsage"]["qwen"]["successRate"] == 0.5
        assert m["modelUsage"]["qwen"]["averageExecutionTime"] == 1.5
        assert m["modelUsage"]["smol"]["userRating"] == 1.0
        assert m["userFeedback"] == {"thumbsUp": 1, "thumbsDown": 0, "comments": ["わかりやすい"]}
        assert m["retryAdoption"]["smol:code"] == {"retries": 1, "adopted": 1, "adoptionRate": 1.0}
        assert m["retryPreferences"] == 1 and set(m["retryBradleyTerry"]) == {"smol:code", "qwen:general"}
        assert m["retryBradleyTerry"]["smol:code"][0] > m["retryBradleyTerry"]["qwen:general"][0]
        assert "general" in m["taskPerformance"]  # no category: the specification's default
        assert usage_metrics(store, quarter="1999-Q1")["modelUsage"] == {}


def test_jsonl_export_and_bad_lines(tmp_path: Path) -> None:
    export = tmp_path / "events.jsonl"
    events = [{"event_id": f"e{i}", "kind": "main", "model": "m", "success": 1, "latency_s": 1.0,
               "created_at": "2026-02-01T10:00:00"} for i in range(3)]  # fmt: skip
    export.write_text("\n".join(json.dumps(e) for e in events) + "\n", encoding="utf-8")
    with Store(tmp_path / "r.duckdb") as store:
        assert [r.added for r in ingest(store, [export, export])] == [3, 0]
        assert usage_metrics(store, quarter="2026-Q1")["modelUsage"]["m"]["count"] == 3
        bad = tmp_path / "bad.jsonl"
        bad.write_text('{"event_id": "x"}\n{"kind": 1\n', encoding="utf-8")
        with pytest.raises(InputError, match=r"bad\.jsonl:2"):
            ingest(store, [bad])
        with pytest.raises(InputError, match="no such file"):
            ingest(store, [tmp_path / "nope.sqlite"])


def test_usage_commands(tmp_path: Path, chat_db: tuple[ChatDB, str]) -> None:
    db, _ = chat_db
    cli = [sys.executable, "-m", "llamune_eval.cli.main", "usage"]
    env = {**os.environ, "COLUMNS": "200"}
    done = subprocess.run([*cli, "ingest", str(db.path)], cwd=tmp_path, capture_output=True, text=True, env=env,
                          timeout=60)  # fmt: skip
    assert done.returncode == 0 and "3 events read, 3 new" in done.stderr
    report = subprocess.run([*cli, "--json"], cwd=tmp_path, capture_output=True, text=True, env=env, timeout=60)
    assert json.loads(report.stdout)["userFeedback"]["thumbsUp"] == 1
    table = subprocess.run(cli, cwd=tmp_path, capture_output=True, text=True, env=env, timeout=60)
    assert "qwen" in table.stdout and "/retry smol:code: 1/1 adopted" in table.stdout
