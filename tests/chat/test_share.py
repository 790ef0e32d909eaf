"""A session's exchanges with the organisation, through the REPL: the channel's file arrives mid-session and is
announced, /settings says how the channel fared, and usage a failed drop kept goes at the next start."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from llamune_eval.chat.repl import Repl
from llamune_eval.chat.share import Sharing
from llamune_eval.config import ChatConfig
from tests.channel import _files
from tests.chat.test_runtime import GatedEngine, _runtime


def _done(sharing: Sharing, name: str) -> threading.Event:
    """Set when the session's first call of `sharing.<name>` (its channel check, or its upload) has returned."""
    done = threading.Event()
    work = getattr(sharing, name)

    async def watched(**kw: Any) -> Any:
        try:
            return await work(**kw)
        finally:
            done.set()

    setattr(sharing, name, watched)
    return done


def _reader(lines: list[str], wait: threading.Event | None = None) -> Callable[[str], str]:
    """Lines as a person types them; before the first, wait (in the reader's thread) until `wait` is set."""
    todo = iter(lines)
    first = [True]

    def read(prompt: str) -> str:
        if first[0] and wait is not None:
            assert wait.wait(timeout=30), "the background work never ended"  # a guard against a hang only
        first[0] = False
        try:
            return next(todo)
        except StopIteration:
            raise EOFError from None

    return read


async def test_a_file_from_the_channel_is_announced_and_settings_tell_how_the_channel_fared(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key, public = _files.keypair(tmp_path / "keys")
    channel, mine = tmp_path / "share", tmp_path / "mine"
    _files.write(channel, _files.seal(_files.settings("2027-Q1", ["main"]), key))
    from llamune_eval.channel.publish import publish_channel

    await publish_channel(channel, str(channel))  # the folder is its own source: files, then the index
    runtime = _runtime(tmp_path, GatedEngine(), 1, titles=False)
    sharing = Sharing(ChatConfig(channel=str(channel), public_key=public), runtime.db, mine)
    checked = _done(sharing, "follow")
    await Repl(runtime, read=_reader(["/settings", "/quit"], checked), sharing=sharing).run()
    out = capsys.readouterr().out
    assert (mine / "2027-Q1.json").exists()
    assert "新しい推奨設定が届きました（2027-Q1）: /settings で詳細" in out
    flat = out.replace("\n", "")  # the console wraps a long line (a long temporary path) at its width
    assert f"配信元: {channel} · 最終接続: 20" in flat and ": 成功" in flat
    # the channel is gone: the settings stay, /settings says why the check failed
    sharing = Sharing(ChatConfig(channel=str(tmp_path / "gone"), public_key=public), runtime.db, mine)
    checked = _done(sharing, "follow")
    await Repl(runtime, read=_reader(["/settings", "/quit"], checked), sharing=sharing).run()
    assert sharing.last is not None and sharing.last.state.error
    out = capsys.readouterr().out
    flat = out.replace("\n", "")
    assert "新しい推奨設定が届きました" not in flat
    assert f"配信元: {tmp_path / 'gone'} · 最終接続: まだありません" in flat
    assert f"失敗（{tmp_path / 'gone' / 'index.json'}: no such file）" in flat
    assert (mine / "2027-Q1.json").exists()


async def test_usage_a_failed_drop_kept_goes_at_the_next_start(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runtime = _runtime(tmp_path, GatedEngine(), 1, titles=False)
    refused = Sharing(ChatConfig(usage_drop="http://127.0.0.1:9/usage/", org_salt="s"), runtime.db, tmp_path / "s")
    await Repl(runtime, read=_reader(["質問です", "/quit"]), sharing=refused).run()
    out = capsys.readouterr().out
    assert "利用状況を送信できませんでした（次回の起動時に送ります）:" in out and "cannot connect" in out
    assert runtime.db.sent_digests() == {} and len(runtime.db.usage()) == 3  # the main answer and two cross-checks
    drop = tmp_path / "drop"
    drop.mkdir()  # a drop folder is never made by a user's llamune (an unmounted share is not written to)
    working = Sharing(ChatConfig(usage_drop=str(drop), org_salt="s"), runtime.db, tmp_path / "s")
    sent_at_start = _done(working, "send")
    runtime.start()
    await Repl(runtime, read=_reader(["/quit"], sent_at_start), sharing=working).run()
    out = capsys.readouterr().out
    [file] = drop.glob("*.jsonl")  # one upload, at the start; nothing was left for the end
    assert len(file.read_text().splitlines()) == 3 and "利用状況を送信しました" not in out
    assert set(runtime.db.sent_digests()) == {e["event_id"] for e in runtime.db.usage()}
