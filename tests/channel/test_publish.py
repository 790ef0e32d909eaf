"""The operator's publish: files first, index last, never a preview, never a rewrite; over http(s) signed only."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from llamune_eval import jsonio
from llamune_eval.channel import index as channel_index
from llamune_eval.channel.index import ChannelError
from llamune_eval.channel.publish import publish_channel
from tests.channel import _files
from tests.channel._nginx import Nginx


def _index(folder: Path) -> dict[str, object]:
    data = jsonio.loads((folder / "index.json").read_bytes())
    jsonschema.Draft202012Validator(channel_index.json_schema()).validate(data)
    return data  # type: ignore[no-any-return]


def test_folder_channel_gets_files_then_index(tmp_path: Path) -> None:
    key, _ = _files.keypair(tmp_path / "keys")
    rec, channel = tmp_path / "recommended", tmp_path / "channel"
    q4 = _files.published(rec, "2026-Q4", ["smol"], key)
    q1 = _files.published(rec, "2027-Q1", ["qwen", "smol"], key)
    _files.write(rec, _files.seal(_files.settings("2027-Q2", ["qwen"], preview=True), key))  # a preview
    done = asyncio.run(publish_channel(rec, str(channel), signing_key=key))
    assert done.sent == ["2026-Q4", "2027-Q1"] and done.unchanged == []
    assert sorted(p.name for p in channel.iterdir()) == ["2026-Q4.json", "2027-Q1.json", "index.json"]
    index = _index(channel)
    assert index["format"] == "llamune-channel/1"
    entries = index["files"]
    assert isinstance(entries, list) and [e["version"] for e in entries] == ["2027-Q1", "2026-Q4"]
    for entry, source in zip(entries, (q1, q4), strict=True):
        body = source.read_bytes()
        assert (channel / entry["file"]).read_bytes() == body
        assert entry["sha256"] == hashlib.sha256(body).hexdigest() and entry["size"] == len(body)
        assert entry["signed"] is True and entry["updatedAt"] == "2026-12-01T00:00:00Z"
    # the same again: nothing written, the index left byte for byte
    before = (channel / "index.json").read_bytes()
    again = asyncio.run(publish_channel(rec, str(channel), signing_key=key))
    assert again.sent == [] and again.unchanged == ["2026-Q4", "2027-Q1"]
    assert (channel / "index.json").read_bytes() == before
    # a revision is added; older files stay
    _files.published(rec, "2027-Q1.2", ["smol", "qwen"], key)
    third = asyncio.run(publish_channel(rec, str(channel), quarter="2027-Q1", signing_key=key))
    assert third.sent == ["2027-Q1.2"] and third.unchanged == ["2027-Q1"]
    versions = [e["version"] for e in _index(channel)["files"]]  # type: ignore[union-attr]
    assert versions == ["2027-Q1.2", "2027-Q1", "2026-Q4"]
    assert not [p for p in channel.iterdir() if p.name.endswith(".tmp")]


def test_never_a_preview_and_never_a_rewrite(tmp_path: Path) -> None:
    rec, channel = tmp_path / "recommended", tmp_path / "channel"
    _files.write(rec, _files.seal(_files.settings("2027-Q1", ["qwen"], preview=True), None))
    with pytest.raises(ChannelError, match=r"no published 2027-Q1 settings file to publish \(a preview is never"):
        asyncio.run(publish_channel(rec, str(channel), quarter="2027-Q1"))
    assert not channel.exists()
    _files.published(rec, "2027-Q1", ["qwen"], None)
    asyncio.run(publish_channel(rec, str(channel)))
    # someone edits the operator's copy and re-seals it: the channel keeps what users already received
    other = _files.seal(_files.settings("2027-Q1", ["smol"]), None)
    _files.write(rec, other)
    held = (channel / "2027-Q1.json").read_bytes()
    with pytest.raises(ChannelError, match="already holds 2027-Q1 with other content"):
        asyncio.run(publish_channel(rec, str(channel)))
    assert (channel / "2027-Q1.json").read_bytes() == held


def _cli(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "llamune_eval.cli.main", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120, env={**os.environ, **env})  # fmt: skip


@pytest.mark.engine  # nginx
def test_http_channel_takes_signed_files_only(tmp_path: Path) -> None:
    key, _ = _files.keypair(tmp_path / "keys")
    rec = tmp_path / "recommended"
    with Nginx(tmp_path / "www") as ng:
        url = ng.url("/recommended/")
        _files.published(rec, "2027-Q1", ["qwen", "smol"], None)  # unsigned
        refused = _cli(["publish", "--to", url], tmp_path)
        assert refused.returncode == 1
        assert refused.stderr.strip().splitlines() == [
            f"error: {rec.relative_to(tmp_path) / '2027-Q1.json'}: not signed; a channel over http(s) takes signed "
            "files only ([recommend] signing_key)"
        ]
        assert list((ng.root / "recommended").iterdir()) == [] and "PUT" not in ng.log()
        signed = _files.published(rec, "2027-Q1", ["qwen", "smol"], key)
        (tmp_path / "llamune.toml").write_text(f'[recommend]\nsigning_key = "{key}"\n[publish]\nto = "{url}"\n')
        done = _cli(["publish", "--json"], tmp_path)
        assert done.returncode == 0, done.stderr
        out = jsonio.loads(done.stdout)
        assert (out["status"], out["sent"], out["to"]) == ("published", ["2027-Q1"], url)
        served = ng.root / "recommended"
        assert (served / "2027-Q1.json").read_bytes() == signed.read_bytes()
        index = _index(served)
        assert index["files"] == out["index"]["files"]
        # PUT the file, then the index: the access log keeps the order
        puts = [line.split('"')[1] for line in ng.log().splitlines() if '"PUT ' in line]
        assert puts == ["PUT /recommended/2027-Q1.json HTTP/1.1", "PUT /recommended/index.json HTTP/1.1"]
        # a settings file signed with another key is not published under this one
        other, _ = _files.keypair(tmp_path / "keys", "other")
        _files.published(rec, "2027-Q1.2", ["smol"], other)
        wrong = _cli(["publish"], tmp_path)
        assert wrong.returncode == 1 and "its signature is not by" in wrong.stderr
        assert not (served / "2027-Q1.2.json").exists()
        assert json.loads((served / "index.json").read_text()) == index
