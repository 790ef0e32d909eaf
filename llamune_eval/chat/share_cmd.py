"""The chat's side of the organisation's channel on screen: the background check and its announcement, the channel's
state in /settings, and the usage sent at the end of a session (`share.py` does the work; this prints)."""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from rich.markup import escape

from llamune_eval.chat.db import ChatDB
from llamune_eval.chat.runtime import ChatRuntime
from llamune_eval.config import ChatConfig
from llamune_eval.ui import console

if TYPE_CHECKING:
    from llamune_eval.chat.share import Sharing

START_DELAY_S = 0.2  # the line editor draws its prompt first: the channel's modules load after it, in a thread


def sharing_for(chat: ChatConfig, db: ChatDB, folder: Path) -> Callable[[], Sharing]:
    """What makes the session's `Sharing` when it is needed (its modules take 30 ms to import: not before the
    prompt)."""

    def make() -> Sharing:
        from llamune_eval.chat.share import Sharing

        return Sharing(chat, db, folder)

    return make


class SharingCommands:
    """Mixed into the REPL, which supplies the runtime and tells notices at the right moment (`notify`)."""

    rt: ChatRuntime
    sharing: Sharing | None
    make_sharing: Callable[[], Sharing] | None
    starting: asyncio.Task[None] | None
    arrived: str | None  # a newer settings file the channel installed, not announced yet

    def notify(self) -> None:
        raise NotImplementedError

    def shared(self) -> Sharing | None:
        """The session's `Sharing`, made at first need."""
        if self.sharing is None and self.make_sharing is not None:
            self.sharing = self.make_sharing()
        return self.sharing

    def start_sharing(self) -> None:
        """In the background, after the prompt: neither the check nor the upload may hold the session up."""
        if self.make_sharing is not None:
            self.starting = asyncio.ensure_future(self._start())

    async def _start(self) -> None:
        await asyncio.sleep(START_DELAY_S)
        await asyncio.to_thread(importlib.import_module, "llamune_eval.chat.share")
        sharing = self.shared()
        assert sharing is not None
        sharing.background(self._follow())
        sharing.background(sharing.send())

    def announce(self) -> None:
        if self.arrived:
            console.print(f"[cyan]新しい推奨設定が届きました（{escape(self.arrived)}）: /settings で詳細[/]")
            self.arrived = None

    async def _follow(self) -> None:
        """The channel check: a newer file installed now is announced like an arrived answer and applies at the next
        start (or at once with /settings apply)."""
        from llamune_eval.quarters import is_newer

        assert self.sharing is not None
        done = await self.sharing.follow()
        if done is not None and done.installed and is_newer(done.installed[-1], self.rt.active.version):
            self.arrived = done.installed[-1]
            self.notify()

    async def send_at_exit(self) -> None:
        """The session's usage, without its content, to the drop; what cannot go now goes at the next start."""
        if self.starting is not None:
            self.starting.cancel()
            await asyncio.gather(self.starting, return_exceptions=True)
        sharing = self.shared()
        if sharing is None:
            return
        await sharing.stop()  # the start's check and upload give way
        if not sharing.chat.usage_drop:
            return
        from llamune_eval.chat.share import EXIT_TOTAL_S

        sent, error = await sharing.send(total=EXIT_TOTAL_S)
        if sent:
            console.print(f"利用状況を送信しました（{sent} 件、会話の内容は含みません）", markup=False, highlight=False)
        if error:
            console.print(
                f"[yellow]利用状況を送信できませんでした（次回の起動時に送ります）:[/] {escape(error)}", highlight=False
            )

    def channel_status(self) -> None:
        """Where the settings come from: the channel, when it was last reached, and why the last check failed."""
        sharing = self.shared()
        state = sharing.state() if sharing is not None else None
        if sharing is None or state is None:
            return
        reached = state.reached_at or "まだありません"
        if sharing.checking:
            outcome = "確認中"
        elif state.checked_at is None:
            outcome = "まだ確認していません"
        elif state.error:
            outcome = f"失敗（{state.error}）"
        else:
            outcome = "成功"
        console.print(
            f"配信元: {state.channel} · 最終接続: {reached} · 前回の確認（{state.checked_at or '-'}）: {outcome}",
            markup=False,
            highlight=False,
        )
