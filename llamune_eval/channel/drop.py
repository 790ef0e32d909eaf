"""Usage going back: content-free events (`events.SharedEvent`) into the operator's drop, a folder or a WebDAV URL.

Every upload is a new file, `<user>-<UTC time>.jsonl` (2,000 events at most, under nginx's default 1 MB body
limit): written under a temporary name and renamed into a folder, or PUT to the URL. The caller records a file's
events as sent only after the file is whole at the drop, so a refused, full or silent drop loses nothing: those
events go with the next upload. An event sent twice (a crash between the upload and the record) costs nothing: the
operator's ingest keys events by their id.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

from llamune_eval.channel.events import SharedEvent
from llamune_eval.channel.index import ChannelError
from llamune_eval.channel.transport import CONNECT_S, TOTAL_S, Location, client, put

PER_FILE = 2000


def drop_name(user: str, at: datetime | None = None) -> str:
    """A new file's name: the pseudonym and the time to the microsecond, so uploads never overwrite each other."""
    at = at or datetime.now(UTC)
    return f"{user}-{at.astimezone(UTC):%Y%m%dT%H%M%S%fZ}.jsonl"


async def upload(
    location: str,
    events: list[SharedEvent],
    on_sent: Callable[[list[SharedEvent], str], object],
    *,
    connect: float = CONNECT_S,
    total: float = TOTAL_S,
) -> int:
    """Send `events` in new files; `on_sent(batch, name)` once each file is whole at the drop. Returns how many
    were sent; raises `ChannelError` at the first failure (the files before it stay sent)."""
    if not events:
        return 0
    loc = Location.parse(location)
    await loc.admitted()
    sent = 0
    try:
        async with asyncio.timeout(total), await client(loc, connect=connect, total=total) as http:
            for start in range(0, len(events), PER_FILE):
                batch = events[start : start + PER_FILE]
                name = drop_name(batch[0].user)
                body = "".join(e.line() + "\n" for e in batch).encode()
                await put(http, loc, name, body, headers={"Content-Type": "application/x-ndjson"})
                on_sent(batch, name)
                sent += len(batch)
    except TimeoutError as exc:
        raise ChannelError(f"{location}: no answer within {total:g} s; {len(events) - sent} events wait") from exc
    return sent
