"""Usage going back: content-free events (`events.SharedEvent`) into the operator's drop, a folder or a WebDAV URL.

Every upload is a new file, `<user>-<UTC time>.jsonl` (at most 2,000 events and 900 kB, under nginx's default 1 MB
body limit; a file a server still finds too large goes again as two halves): written under a temporary name and
renamed into a folder that must already be there (a share that is not mounted is not written to), or PUT to the
URL. The caller records a file's events as sent only after the file is whole at the drop, so a refused, full or
silent drop loses nothing: those events go with the next upload. An event sent twice (a crash between the upload
and the record) costs nothing: the operator's ingest keys events by their id.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

from llamune_eval.channel.events import SharedEvent
from llamune_eval.channel.index import ChannelError
from llamune_eval.channel.transport import CONNECT_S, TOTAL_S, Location, TooLarge, client, put

PER_FILE = 2000
FILE_BYTES = 900_000  # under nginx's default client_max_body_size (1 MB)


def drop_name(user: str, at: datetime | None = None) -> str:
    """A new file's name: the pseudonym and the time to the microsecond, so uploads never overwrite each other."""
    at = at or datetime.now(UTC)
    return f"{user}-{at.astimezone(UTC):%Y%m%dT%H%M%S%fZ}.jsonl"


def batches(events: list[SharedEvent], most_bytes: int = FILE_BYTES) -> list[list[SharedEvent]]:
    """Events in files of at most `most_bytes` and `PER_FILE` events, in order (an event larger than a file alone
    goes alone)."""
    out: list[list[SharedEvent]] = []
    size = 0
    for e in events:
        n = len(e.line().encode()) + 1
        if not out or len(out[-1]) >= PER_FILE or (out[-1] and size + n > most_bytes):
            out.append([])
            size = 0
        out[-1].append(e)
        size += n
    return out


async def upload(
    location: str,
    events: list[SharedEvent],
    on_sent: Callable[[list[SharedEvent], str], object],
    *,
    connect: float = CONNECT_S,
    total: float = TOTAL_S,
) -> int:
    """Send `events` in new files; `on_sent(batch, name)` once each file is whole at the drop. Returns how many
    were sent; raises `ChannelError` at the first failure (the files before it stay sent). A file the server finds
    too large (413) is sent again as two halves."""
    if not events:
        return 0
    sent = 0
    try:
        loc = Location.parse(location)
        async with asyncio.timeout(total):
            await loc.admitted()
            async with await client(loc, connect=connect, total=total) as http:
                todo = batches(events)
                while todo:
                    batch = todo.pop(0)
                    name = drop_name(batch[0].user)
                    body = "".join(e.line() + "\n" for e in batch).encode()
                    try:
                        await put(http, loc, name, body, headers={"Content-Type": "application/x-ndjson"}, create=False)
                    except TooLarge:
                        if len(batch) == 1:
                            raise
                        half = len(batch) // 2
                        todo[:0] = [batch[:half], batch[half:]]
                        continue
                    on_sent(batch, name)
                    sent += len(batch)
    except TimeoutError as exc:
        raise ChannelError(f"{location}: no answer within {total:g} s; {len(events) - sent} events wait") from exc
    return sent
