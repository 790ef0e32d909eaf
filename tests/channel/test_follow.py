"""A user's machine follows the channel: the newest signed file is installed; every fault installs nothing.

Real nginx serves the channel (ETag, Last-Modified, 304s, its own 404, 500 and redirect loop); stub servers only
for what nginx will not do on cue: a connection cut mid-file, and a server that accepts and never answers.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
from pathlib import Path

import pytest

from llamune_eval.channel.follow import Check, check, load_state
from llamune_eval.channel.publish import publish_channel
from llamune_eval.settings import load_active
from tests.channel import _files
from tests.channel._nginx import Nginx
from tests.stubs.httpserver import Reply, Request, StubServer


def _check(channel: str, folder: Path, public: Path | None, **kw: float) -> Check:
    return asyncio.run(check(channel, folder, folder / ".channel-state.json", public, **kw))


def _installed(folder: Path) -> list[str]:
    """The settings files installed (the state file and nothing else left out)."""
    return sorted(p.name for p in folder.glob("*.json") if not p.name.startswith(".")) if folder.is_dir() else []


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, Path]:
    return _files.keypair(tmp_path / "keys")


@pytest.mark.engine  # nginx
def test_installs_the_newest_signed_file_then_asks_conditionally(tmp_path: Path, keys: tuple[Path, Path]) -> None:
    key, public = keys
    rec, mine = tmp_path / "recommended", tmp_path / "user" / "recommended"
    _files.published(rec, "2026-Q4", ["smol"], key)
    _files.published(rec, "2027-Q1", ["qwen", "smol"], key, tiers={16: ["smol", "qwen"], 64: ["qwen", "smol"]})
    with Nginx(tmp_path / "www") as ng:
        url = ng.url("/recommended/")
        asyncio.run(publish_channel(rec, url, signing_key=key))
        first = _check(url, mine, public)
        assert first.installed == ["2027-Q1"] and first.error is None  # the newest only: 2026-Q4 is not needed
        assert _installed(mine) == ["2027-Q1.json"]
        assert (mine / "2027-Q1.json").read_bytes() == (rec / "2027-Q1.json").read_bytes()
        state = load_state(mine / ".channel-state.json", url)
        assert state.etag and state.modified and state.reached_at and state.installed == ["2027-Q1"]
        active = load_active(mine, tmp_path / "none.toml", memory_gb=64, public_key=public)
        assert (active.version, active.tier, active.execution_order) == ("2027-Q1", 64, ["qwen", "smol"])
        # unchanged: nginx answers the conditional request with 304 and nothing is fetched again
        second = _check(url, mine, public)
        assert second.installed == [] and second.error is None
        log = ng.log().splitlines()
        assert '"GET /recommended/index.json HTTP/1.1" 304' in log[-1]
        assert sum("GET /recommended/2027-Q1.json" in line for line in log) == 1
        # a revision arrives
        _files.published(rec, "2027-Q1.2", ["smol", "qwen"], key)
        asyncio.run(publish_channel(rec, url, signing_key=key))
        third = _check(url, mine, public)
        assert third.installed == ["2027-Q1.2"] and _installed(mine) == ["2027-Q1.2.json", "2027-Q1.json"]
        assert load_active(mine, tmp_path / "none.toml", memory_gb=16, public_key=public).version == "2027-Q1.2"


def _tamper(served: Path, version: str, change: str, other: Path) -> None:
    """Alter a served file as an attacker on the server (or the path) could, and (for digest and signature) the
    index with it, so that only the named check can catch it."""
    path = served / f"{version}.json"
    data = json.loads(path.read_text())
    if change == "sha256":  # the bytes differ from what the index promises
        path.write_bytes(path.read_bytes() + b" ")
        return
    data["executionOrder"] = list(reversed(data["executionOrder"]))
    if change == "signature":  # resealed with a valid digest, signed by someone else
        data = _files.seal(data, other)
    body = json.dumps(data).encode()
    path.write_bytes(body)
    index = json.loads((served / "index.json").read_text())
    for entry in index["files"]:
        if entry["version"] == version:
            entry["sha256"], entry["size"] = hashlib.sha256(body).hexdigest(), len(body)
    (served / "index.json").write_text(json.dumps(index))


@pytest.mark.engine  # nginx
@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ("sha256", "its sha256 is not the one the index gives"),
        ("digest", "digest does not match the content"),
        ("signature", "signature missing or not valid"),
    ],
)
def test_a_tampered_file_is_never_installed(tmp_path: Path, keys: tuple[Path, Path], change: str, reason: str) -> None:
    key, public = keys
    other, _ = _files.keypair(tmp_path / "keys", "attacker")
    rec, mine = tmp_path / "recommended", tmp_path / "user" / "recommended"
    _files.published(rec, "2026-Q4", ["smol"], key)
    with Nginx(tmp_path / "www") as ng:
        url = ng.url("/recommended/")
        asyncio.run(publish_channel(rec, url, signing_key=key))
        assert _check(url, mine, public).installed == ["2026-Q4"]
        good = (mine / "2026-Q4.json").read_bytes()
        _files.published(rec, "2027-Q1", ["qwen", "smol"], key)
        asyncio.run(publish_channel(rec, url, signing_key=key))
        _tamper(ng.root / "recommended", "2027-Q1", change, other)
        done = _check(url, mine, public)
    assert done.installed == [] and done.error is not None and reason in done.error and "2027-Q1.json" in done.error
    assert _installed(mine) == ["2026-Q4.json"] and (mine / "2026-Q4.json").read_bytes() == good
    assert not [p for p in mine.iterdir() if p.name.endswith(".tmp")]
    assert load_active(mine, tmp_path / "none.toml", memory_gb=16, public_key=public).version == "2026-Q4"
    assert load_state(mine / ".channel-state.json", url).etag is None  # asked in full again at the next start


@pytest.mark.engine  # nginx
def test_a_broken_channel_changes_nothing(tmp_path: Path, keys: tuple[Path, Path]) -> None:
    key, public = keys
    rec, mine = tmp_path / "recommended", tmp_path / "user" / "recommended"
    _files.published(rec, "2026-Q4", ["smol"], key)
    with Nginx(tmp_path / "www") as ng:
        asyncio.run(publish_channel(rec, ng.url("/recommended/"), signing_key=key))
        assert _check(ng.url("/recommended/"), mine, public).installed == ["2026-Q4"]
        before = {p.name: p.read_bytes() for p in mine.iterdir()}
        served = ng.root / "recommended"
        cases: list[tuple[str, str]] = []
        (served / "index.json").write_text('{"format": "llamune-channel/1", "files": [')  # cut short
        cases.append((ng.url("/recommended/"), "index.json: not readable JSON"))
        (ng.root / "closed" / "index.json").write_text(json.dumps({"format": "llamune-channel/1", "updatedAt": "x",
            "files": [{"file": "../../evil.json", "version": "2099-Q1", "sha256": "0" * 64, "size": 10, "signed": True,
                       "updatedAt": "x"}]}))  # fmt: skip
        cases.append((ng.url("/closed/"), "is not named after its version"))
        cases.append((ng.url("/usage/"), "index.json: HTTP 403"))  # the drop is not readable
        cases.append((ng.url("/nothing-here/"), "index.json: HTTP 404"))
        cases.append((ng.url("/broken/"), "index.json: HTTP 500"))
        cases.append((ng.url("/loop/"), "more than 5 redirects"))
        cases.append((ng.url("/elsewhere/"), "http://192.0.2.1/recommended/index.json: not the channel's own address"))
        cases.append((ng.url("/next-door/"), "http://127.0.0.1:9/index.json: not the channel's own address"))
        cases.append(("http://127.0.0.1:9/", "cannot connect"))  # nothing listens: refused
        for url, reason in cases:
            done = _check(url, mine, public)
            assert done.installed == [] and done.error is not None and reason in done.error, (url, done.error)
            state = load_state(mine / ".channel-state.json", url)
            assert state.error == done.error and state.checked_at is not None
        assert {p.name: p.read_bytes() for p in mine.iterdir() if p.name.endswith(".json") and p.name[0] != "."} == {
            k: v for k, v in before.items() if k[0] != "."
        }
    assert not (tmp_path / "evil.json").exists() and not (tmp_path / "user" / "evil.json").exists()


@pytest.mark.engine  # nginx
def test_files_over_ten_megabytes_are_not_read(tmp_path: Path, keys: tuple[Path, Path]) -> None:
    key, public = keys
    rec, mine = tmp_path / "recommended", tmp_path / "user" / "recommended"
    _files.published(rec, "2027-Q1", ["qwen"], key)
    with Nginx(tmp_path / "www") as ng:
        url = ng.url("/recommended/")
        asyncio.run(publish_channel(rec, url, signing_key=key))
        served = ng.root / "recommended"
        index = json.loads((served / "index.json").read_text())
        index["files"][0]["size"] = 11 * 2**20  # what the index announces: refused without a request
        (served / "index.json").write_text(json.dumps(index))
        said = _check(url, mine, public)
        assert said.error and "over the 10 MB limit" in said.error and "GET /recommended/2027-Q1.json" not in ng.log()
        index["files"][0]["size"] = 1000  # what the server sends: read no further than the limit
        (served / "index.json").write_text(json.dumps(index))
        (served / "2027-Q1.json").write_bytes(b" " * (11 * 2**20))
        sent = _check(url, mine, public)
        assert sent.error and "over the 10 MB limit; not read" in sent.error
    assert _installed(mine) == []


def _stub_channel(tmp_path: Path, key: Path, file_route: object) -> tuple[StubServer, bytes]:
    """A stub channel: a real index of a real signed file, the file served by `file_route`."""
    rec = tmp_path / "rec"
    path = _files.published(rec, "2027-Q1", ["qwen"], key)
    body = path.read_bytes()
    from llamune_eval.channel.index import ChannelIndex, entry_for

    index = ChannelIndex(updatedAt="2026-12-07T00:00:00Z", files=[entry_for(body, json.loads(body))]).dumps()

    async def serve_index(req: Request, reply: Reply) -> None:
        await reply.send(200, index.encode())

    server = StubServer({("GET", "/c/index.json"): serve_index, ("GET", "/c/2027-Q1.json"): file_route})  # type: ignore[dict-item]
    return server, body


def test_a_connection_cut_mid_file_installs_nothing(tmp_path: Path, keys: tuple[Path, Path]) -> None:
    key, public = keys
    mine = tmp_path / "user"
    holder: dict[str, bytes] = {}

    async def cut(req: Request, reply: Reply) -> None:
        body = holder["body"]
        head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        reply.writer.write(head.encode() + body[: len(body) // 2])
        await reply.writer.drain()
        reply.abort()

    server, holder["body"] = _stub_channel(tmp_path, key, cut)
    with server:
        done = _check(f"{server.url}/c/", mine, public)
    assert done.installed == [] and done.error and "2027-Q1.json: the connection was cut" in done.error
    assert _installed(mine) == [] and not list(mine.glob(".*.tmp"))


def test_a_channel_that_never_answers_gives_up_in_time(tmp_path: Path, keys: tuple[Path, Path]) -> None:
    _, public = keys

    async def silent(req: Request, reply: Reply) -> None:
        await asyncio.sleep(3600)

    server = StubServer({("GET", "/c/index.json"): silent})
    mine = tmp_path / "user"
    with server:
        done = _check(f"{server.url}/c/", mine, public, total=1.0)
    assert done.error and "no answer within 1 s" in done.error and done.installed == []
    assert server.count("/c/index.json") == 1  # it was asked, once; the check's own limit ended the wait
    # a check the session's end cuts short is not a success: the next start asks again
    arrived = threading.Event()

    async def heard(req: Request, reply: Reply) -> None:
        arrived.set()
        await asyncio.sleep(3600)

    with StubServer({("GET", "/c/index.json"): heard}) as again:

        async def cut_short() -> None:
            task = asyncio.ensure_future(check(f"{again.url}/c/", mine, mine / ".channel-state.json", public))
            assert await asyncio.to_thread(arrived.wait, 30)  # the check is waiting on the channel: end it now
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

        asyncio.run(cut_short())
    state = load_state(mine / ".channel-state.json", f"{again.url}/c/")
    assert state.error is not None and "the check was interrupted (the session ended)" in state.error


def test_a_channel_that_compresses_anyway_is_read_whole(tmp_path: Path, keys: tuple[Path, Path]) -> None:
    """Asked for identity, a server sends gzip with the compressed length: the file is still checked and installed."""
    import gzip

    key, public = keys
    holder: dict[str, bytes] = {}

    async def gzipped(req: Request, reply: Reply) -> None:
        packed = gzip.compress(holder["body"])
        head = ("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n"
                f"Content-Length: {len(packed)}\r\n\r\n")  # fmt: skip
        reply.writer.write(head.encode() + packed)
        await reply.writer.drain()

    server, holder["body"] = _stub_channel(tmp_path, key, gzipped)
    with server:
        done = _check(f"{server.url}/c/", tmp_path / "user", public)
    assert done.installed == ["2027-Q1"] and done.error is None
    assert server.requests[-1].headers.get("accept-encoding") == "identity"


def test_a_folder_channel_with_and_without_a_key(tmp_path: Path, keys: tuple[Path, Path]) -> None:
    _, public = keys
    rec, channel, mine = tmp_path / "recommended", tmp_path / "share", tmp_path / "user"
    _files.published(rec, "2027-Q1", ["qwen"], None)  # unsigned: a folder channel may carry it
    asyncio.run(publish_channel(rec, str(channel)))
    refused = _check(str(channel), mine, public)
    assert refused.error and "signature missing or not valid" in refused.error and _installed(mine) == []
    taken = _check(str(channel), mine, None)  # no key configured: the digest and the index's sha256 still hold
    assert taken.installed == ["2027-Q1"] and taken.error is None
    again = _check(str(channel), mine, None)
    assert again.installed == [] and again.error is None  # unchanged folder: its size and time stand for an ETag
