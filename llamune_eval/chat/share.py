"""What a user's `llamune` exchanges with the organisation: the channel's settings in, content-free usage out.

Both run in the background and never before the prompt: the channel check at the start of a session (a newer
published file is installed and announced), the usage upload at the start (what an earlier session could not send)
and at the end of a session. Neither can hold the session up or change what is in force when it fails; the
chat database remembers what the drop received, so nothing is sent twice and nothing is lost.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llamune_eval.channel.drop import upload
from llamune_eval.channel.events import SharedEvent, pseudonym
from llamune_eval.channel.follow import ChannelState, Check, check, load_state
from llamune_eval.channel.index import ChannelError
from llamune_eval.chat.db import ChatDB, usage_event
from llamune_eval.config import ChatConfig
from llamune_eval.settings import DEFAULT_TIERS, machine_memory_gb, newest_recommended, tier_of
from llamune_eval.types import InputError

STATE_FILE = ".channel-state.json"  # in the settings folder the channel installs into
EXIT_TOTAL_S = 5.0  # the upload at the end of a session: the user is waiting for the shell


def client_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("llamune-eval")
    except PackageNotFoundError:
        return "unknown"


def machine_tier(chat: ChatConfig, folder: Path) -> int:
    """This machine's memory tier: by `[chat] memory_gb` or the measured memory, among the tiers of the newest
    settings installed here (the specification's 16/32/64 GB when there are none)."""
    memory = chat.memory_gb if chat.memory_gb is not None else machine_memory_gb()
    try:
        newest, _ = newest_recommended(folder, chat.public_key) if folder.is_dir() else (None, [])
    except InputError:  # an unreadable public key: the default tiers
        newest = None
    tiers = [t.memory_gb for t in newest.tiers] if newest is not None and newest.tiers else list(DEFAULT_TIERS)
    return tier_of(memory, tiers)


def shared_events(rows: list[dict[str, Any]], chat: ChatConfig, tier: int) -> list[SharedEvent]:
    """A chat database's usage event rows as they may leave this machine (`SharedEvent`: no content)."""
    if not chat.org_salt:
        raise InputError("[chat] org_salt is not set: shared usage carries a pseudonym keyed by it, never a name")
    user, client = pseudonym(chat.org_salt), client_version()
    share = chat.share_comments
    return [SharedEvent.of(usage_event(r), user=user, tier=tier, client=client, share_comments=share) for r in rows]


@dataclass
class Sharing:
    """The session's exchanges with the organisation, as configured in `[chat]`."""

    chat: ChatConfig
    db: ChatDB
    folder: Path  # the settings folder this session reads, and the channel installs into
    last: Check | None = None  # this session's channel check, once it is done
    checking: bool = False
    tasks: set[asyncio.Task[object]] = field(default_factory=set)

    @property
    def state_path(self) -> Path:
        return self.folder / STATE_FILE

    def state(self) -> ChannelState | None:
        if not self.chat.channel:
            return None
        return self.last.state if self.last else load_state(self.state_path, self.chat.channel)

    async def follow(self) -> Check | None:
        """Ask the channel once; what it installed is in the result."""
        if not self.chat.channel:
            return None
        self.checking = True
        try:
            self.last = await check(self.chat.channel, self.folder, self.state_path, self.chat.public_key)
        finally:
            self.checking = False
        return self.last

    def pending(self) -> tuple[list[tuple[SharedEvent, int]], list[tuple[str, int]]]:
        """What the drop has not received as it is now (new events, and events whose shared form changed since they
        were sent), each with its revision; and the events that changed only in what is never shared (a comment
        kept here), whose new revision needs no upload. Read on a connection of its own: it may run in a thread."""
        from llamune_eval.chat.db import read_usage_rows

        rows = read_usage_rows(self.db.path, unsent=True)
        events = shared_events(rows, self.chat, machine_tier(self.chat, self.folder))
        send, same = [], []
        for e, r in zip(events, rows, strict=True):
            if r["sent_digest"] == e.digest():
                same.append((e.event_id, int(r["revision"])))
            else:
                send.append((e, int(r["revision"])))
        return send, same

    async def send(self, *, total: float | None = None) -> tuple[int, str | None]:
        """Upload what is pending: (events sent, why the rest could not be, or None)."""
        if not self.chat.usage_drop:
            return 0, None
        from llamune_eval.chat.db import ChatDBError

        done = 0
        try:
            pending, same = await asyncio.to_thread(self.pending)  # a long history is read off the session's loop
            if same:
                self.db.mark_revised(same)
            revision = {e.event_id: r for e, r in pending}

            def sent(batch: list[SharedEvent], name: str) -> None:
                nonlocal done
                self.db.mark_sent([(e.event_id, e.digest(), revision[e.event_id]) for e in batch], name)
                done += len(batch)

            kw = {} if total is None else {"total": total}
            return await upload(self.chat.usage_drop, [e for e, _ in pending], sent, **kw), None
        except (ChannelError, ChatDBError, InputError) as exc:  # the drop, or this database, cannot now: they wait
            return done, str(exc)

    def background(self, work: Coroutine[Any, Any, object]) -> asyncio.Task[object]:
        task = asyncio.ensure_future(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    async def stop(self) -> None:
        """End what is still running in the background (a silent channel must not keep the user waiting)."""
        for task in list(self.tasks):
            task.cancel()
        if self.tasks:
            await asyncio.gather(*self.tasks, return_exceptions=True)


def export(chat: ChatConfig, db_path: Path, folder: Path, since: str | None) -> list[str]:
    """`llamune usage export`: the lines of every shared event (from `since` on), the database only read."""
    from llamune_eval.chat.db import ChatDBError, read_usage_rows

    try:
        rows = read_usage_rows(db_path, since)
    except ChatDBError as exc:
        raise InputError(str(exc)) from exc
    return [e.line() for e in shared_events(rows, chat, machine_tier(chat, folder))]
