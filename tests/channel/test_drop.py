"""Usage goes back without content: the export's fields, the drop into a folder and over WebDAV PUT to nginx, and
every way a drop fails (refused, full, silent) losing nothing; the same drop ingested twice adds nothing."""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import subprocess
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest

from llamune_eval import jsonio
from llamune_eval.channel import events as shared
from llamune_eval.chat.db import Answer, ChatDB
from llamune_eval.chat.share import Sharing, machine_tier, shared_events
from llamune_eval.config import ChatConfig
from llamune_eval.store.results import Store
from llamune_eval.usage import ingest, usage_metrics
from tests.channel._nginx import Nginx
from tests.stubs.httpserver import Reply, Request, StubServer

CANARIES = {k: f"KANARIA-{k}-7f3a" for k in ("question", "answer", "system", "title", "artifact", "comment")}
SALT = "org-secret-salt"


def _db(path: Path) -> ChatDB:
    """A chat database with one session whose every text carries a canary, and rated answers."""
    db = ChatDB(path)
    sid = db.create_session("qwen", None, system_prompt=CANARIES["system"])
    db.set_title(sid, CANARIES["title"])
    db.add_message(sid, 1, "user", f"質問 {CANARIES['question']}")
    mid = db.add_message(sid, 1, "assistant", f"回答 {CANARIES['answer']}", model="qwen", preset="settings")
    db.add_artifact(sid, mid, "python", "code", f"print('{CANARIES['artifact']}')")
    params = {"temperature": 0.0, "top_p": 1.0, "max_tokens": 24, "seed": 7, "stop": ["x"]}
    db.record_usage(sid, mid, "main", Answer(model="qwen", preset="settings", params=params, ttft_s=0.1, latency_s=0.5,
                                             prompt_tokens=12, completion_tokens=8, category="coding"))  # fmt: skip
    db.rate_levels(mid, {"accuracy": 5, "naturalness": 4, "usefulness": 3}, CANARIES["comment"])
    db.record_usage(sid, None, "background", Answer(model="smol", success=False, error_kind="timeout"))
    return db


def _chat(drop: str | None = None, share: bool = False) -> ChatConfig:
    return ChatConfig(usage_drop=drop, org_salt=SALT, share_comments=share, memory_gb=32)


def test_export_carries_no_content(tmp_path: Path) -> None:
    db = _db(tmp_path / "chat.sqlite")
    chat = _chat()
    tier = machine_tier(chat, tmp_path / "none")
    lines = [e.line() for e in shared_events(db.usage_rows(), chat, tier)]
    text = "\n".join(lines)
    assert not [c for c in CANARIES.values() if c in text]
    rows = [jsonio.loads(line) for line in lines]
    schema = shared.json_schema()
    for row in rows:
        jsonschema.Draft202012Validator(schema).validate(row)
    main, background = rows
    me = shared.pseudonym(SALT, getpass.getuser(), shared.machine_id())
    assert main["user"] == background["user"] == me and len(me) == 32 and getpass.getuser() not in text
    facts = (main["tier"], main["kind"], main["model"], main["turn"], main["category"])
    assert facts == (32, "main", "qwen", 1, "coding")
    assert main["params"] == {"temperature": 0.0, "top_p": 1.0, "max_tokens": 24}  # no seed, no stop sequences
    assert (main["accuracy"], main["naturalness"], main["usefulness"], main["comment"]) == (5, 4, 3, None)
    assert (background["success"], background["error_kind"], background["turn"]) == (False, "timeout", None)
    assert [r["created_at"] for r in rows] == [r["created_at"] for r in db.usage_rows()]  # the text the chat wrote
    assert set(main) == set(shared.SharedEvent.model_fields)
    # shared comments: the comment, and still nothing else
    with_comments = "\n".join(e.line() for e in shared_events(db.usage_rows(), _chat(share=True), tier))
    assert [c for c in CANARIES.values() if c in with_comments] == [CANARIES["comment"]]
    # another salt, another pseudonym: nobody without the organisation's salt can link them to a name
    assert shared.pseudonym("other", getpass.getuser(), shared.machine_id()) != me
    assert shared.pseudonym(SALT, "someone-else", shared.machine_id()) != me


def _drops(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix == ".jsonl") if folder.is_dir() else []


def test_folder_drop_sends_each_change_once(tmp_path: Path) -> None:
    db = _db(tmp_path / "chat.sqlite")
    drop = tmp_path / "drop"
    drop.mkdir()  # a drop folder is never made by a user's llamune (an unmounted share is not written to)
    sharing = Sharing(_chat(str(drop)), db, tmp_path / "settings")
    assert asyncio.run(sharing.send()) == (2, None)
    [first] = _drops(drop)
    assert first.name.startswith(shared.pseudonym(SALT) + "-") and first.name.endswith("Z.jsonl")
    assert [jsonio.loads(line)["kind"] for line in first.read_text().splitlines()] == ["main", "background"]
    assert asyncio.run(sharing.send()) == (0, None) and len(_drops(drop)) == 1  # nothing twice
    last = db.usage()[0]
    db.rate(last["message_id"], 1, None)  # a later /good changes an event already sent: it goes again
    assert asyncio.run(sharing.send()) == (1, None)
    second = next(p for p in _drops(drop) if p != first)
    [line] = second.read_text().splitlines()
    assert jsonio.loads(line)["rating"] == 1 and jsonio.loads(line)["event_id"] == last["event_id"]
    assert not [p for p in drop.iterdir() if p.name.endswith(".tmp")]


@contextlib.contextmanager
def _small_disk(path: Path) -> Iterator[Path]:
    """A folder on its own 16 kB tmpfs (root only: mount); `_fill` it to make a full disk."""
    path.mkdir(parents=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", str(path)], capture_output=True)
    if mounted.returncode:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", str(path)], check=True)


def _fill(path: Path) -> None:
    with contextlib.suppress(OSError):
        (path / "filler").write_bytes(b"x" * 64 * 1024)


@pytest.mark.engine  # nginx
def test_failed_drops_lose_nothing(tmp_path: Path) -> None:
    """Refused (nginx's 403, nothing listening), full (a full disk, nginx's 500 on one, a 507), silent (accepts,
    never answers): nothing is marked sent, and the next drop that works takes every event."""
    db = _db(tmp_path / "chat.sqlite")

    async def insufficient(req: Request, reply: Reply) -> None:
        await reply.send(507, b"Insufficient Storage", "text/plain")

    async def silent(req: Request, reply: Reply) -> None:
        await asyncio.sleep(3600)

    with (
        _small_disk(tmp_path / "www" / "full") as nginx_full,  # nginx's /full/ location, its body buffer too
        Nginx(tmp_path / "www") as ng,
        StubServer({("PUT", "*"): insufficient}) as full_server,
        StubServer({("PUT", "*"): silent}) as silent_server,
        _small_disk(tmp_path / "full") as full,
    ):
        _fill(full)
        _fill(nginx_full)
        failures = {
            ng.url("/closed/"): "HTTP 403 to PUT",
            "http://127.0.0.1:9/drop/": "cannot connect",
            str(full): "No space left on device",
            str(tmp_path / "not-mounted"): "is not there (a share that is not mounted?)",
            ng.url("/full/"): "HTTP 500 to PUT",
            f"{full_server.url}/drop/": "HTTP 507 to PUT",
            f"{silent_server.url}/drop/": "no answer within 1 s",
        }
        for where, reason in failures.items():
            sent, error = asyncio.run(Sharing(_chat(where), db, tmp_path / "s").send(total=1.0))
            assert sent == 0 and error is not None and reason in error, (where, error)
            assert db.sent_digests() == {}
        assert not _drops(full) and not (tmp_path / "not-mounted").exists()
        [asked] = silent_server.requests  # the silent drop was asked once, with a whole file, and never answered
        assert asked.method == "PUT" and asked.path.startswith("/drop/") and asked.body.count(b"\n") == 2
        sent, error = asyncio.run(Sharing(_chat(ng.url("/usage/")), db, tmp_path / "s").send())
        assert (sent, error) == (2, None) and len(db.sent_digests()) == 2
        [dropped] = _drops(ng.root / "usage")
        assert [jsonio.loads(line)["kind"] for line in dropped.read_text().splitlines()] == ["main", "background"]


def test_the_same_drop_ingested_twice_adds_nothing(tmp_path: Path) -> None:
    db = _db(tmp_path / "chat.sqlite")
    drop = tmp_path / "drop"
    drop.mkdir()  # a drop folder is never made by a user's llamune (an unmounted share is not written to)
    asyncio.run(Sharing(_chat(str(drop)), db, tmp_path / "s").send())
    [path] = _drops(drop)
    with Store(tmp_path / "store.duckdb") as store:
        first = ingest(store, [path])
        second = ingest(store, [path])
        metrics = usage_metrics(store)
        rows = store.con.execute("SELECT event_id, user, tier, client, comment FROM usage_events").fetchall()
    assert (first[0].read, first[0].added) == (2, 2) and (second[0].read, second[0].added) == (2, 0)
    assert {r[1] for r in rows} == {shared.pseudonym(SALT)} and {r[2] for r in rows} == {32}
    assert all(r[3] and r[4] is None for r in rows)
    assert metrics["users"]["active"] == 1 and metrics["users"]["conversations"] == 1
    assert metrics["users"]["satisfaction"] == pytest.approx(4.0) and metrics["users"]["perTier"] == {"32": 1}


def test_a_retry_decision_split_across_two_drops_is_one_decision(tmp_path: Path) -> None:
    """The answer a /retry displaced was sent before the retry was made; the operator still reads the decision."""
    from llamune_eval.store import usage as q

    db = ChatDB(tmp_path / "chat.sqlite")
    sid = db.create_session("smol")
    db.add_message(sid, 1, "user", "質問")
    first = db.add_message(sid, 1, "assistant", "答え1", model="smol")
    db.record_usage(sid, first, "main", Answer(model="smol"))
    drop = tmp_path / "drop"
    drop.mkdir()  # a drop folder is never made by a user's llamune (an unmounted share is not written to)
    sharing = Sharing(_chat(str(drop)), db, tmp_path / "s")
    assert asyncio.run(sharing.send()) == (1, None)
    again = db.add_message(sid, 1, "assistant", "答え2", model="qwen", source="retry")
    db.record_usage(sid, again, "retry", Answer(model="qwen"))
    db.replace_answer(first, again, adopt=True)  # qwen's answer adopted: smol's, already sent, changes
    assert asyncio.run(sharing.send()) == (2, None)
    drops = _drops(drop)
    assert len(drops) == 2
    with Store(tmp_path / "store.duckdb") as store:
        ingest(store, drops)
        assert q.retry_decisions(store, None) == [("qwen", "smol")]
        adopted = dict(store.con.execute("SELECT model, adopted FROM usage_events").fetchall())
    assert adopted == {"smol": False, "qwen": True}


def test_drops_the_server_refuses_as_too_large_go_in_halves_and_redirects_store_nothing(tmp_path: Path) -> None:
    db = _db(tmp_path / "chat.sqlite")
    for _ in range(4):
        db.record_usage(None, None, "background", Answer(model="smol"))
    stored: list[bytes] = []

    async def small_only(req: Request, reply: Reply) -> None:
        if req.body.count(b"\n") > 2:  # this server takes two events a file at most
            await reply.send(413, b"Request Entity Too Large", "text/plain")
            return
        stored.append(req.body)
        await reply.send(201, b"", "text/plain")

    async def elsewhere(req: Request, reply: Reply) -> None:
        head = "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:9/login\r\nContent-Length: 0\r\n\r\n"
        reply.writer.write(head.encode())
        await reply.writer.drain()

    with StubServer({("PUT", "*"): elsewhere}) as moved:
        sent, error = asyncio.run(Sharing(_chat(f"{moved.url}/drop/"), db, tmp_path / "s").send())
    assert sent == 0 and error is not None and "HTTP 302 to PUT" in error and db.sent_digests() == {}
    with StubServer({("PUT", "*"): small_only}) as server:
        sent, error = asyncio.run(Sharing(_chat(f"{server.url}/drop/"), db, tmp_path / "s").send())
    assert (sent, error) == (6, None) and len(db.sent_digests()) == 6
    assert sorted(b.count(b"\n") for b in stored) == [1, 1, 2, 2]  # 6 events: 4 refused, then halves of 2 and 1


def test_people_are_counted_once_in_the_tier_of_their_latest_question(tmp_path: Path) -> None:
    lines = [
        {"event_id": "a", "user": "u1", "tier": 16, "kind": "main", "session_id": "s1", "created_at": "2026-12-01"},
        {"event_id": "b", "user": "u1", "tier": 32, "kind": "main", "session_id": "s2", "created_at": "2026-12-02"},
        {"event_id": "c", "user": "u2", "tier": 16, "kind": "main", "session_id": "s3", "created_at": "2026-12-01"},
    ]
    path = tmp_path / "drop.jsonl"
    path.write_text("".join(jsonio.dumps(line) + "\n" for line in lines))
    with Store(tmp_path / "store.duckdb") as store:
        ingest(store, [path])
        users = usage_metrics(store)["users"]
    assert (users["active"], users["sessions"], users["perTier"]) == (2, 3, {"16": 1, "32": 1})
