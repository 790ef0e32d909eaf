"""A user's side of the channel: `llamune` asks for the index in the background and installs what is newer.

One check: a conditional GET of `index.json` (If-None-Match / If-Modified-Since), then the newest published file
newer than any installed here, then the next newest only if that one fails. A file is installed only when it hashes
to the index's sha256, its own digest holds, its Ed25519 signature is by the organisation's key (when one is
configured; a channel over http(s) always needs one) and it is a published quarter, never a preview: written under
a temporary name in the user's settings folder, checked there, then renamed to `<version>.json`. Whatever goes
wrong (unreachable, slow, malformed, tampered) installs nothing; the last good settings stay in force, and the
state file says when the channel was last reached and why the last check failed (`/settings` shows it).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from llamune_eval import jsonio
from llamune_eval.channel.index import INDEX, MAX_BYTES, ChannelError, ChannelFile, now, parse_index
from llamune_eval.channel.transport import CONNECT_S, TOTAL_S, Location, client, fetch, write_atomic
from llamune_eval.lean_httpx import httpx
from llamune_eval.quarters import is_newer
from llamune_eval.settings import check_recommended, published_files
from llamune_eval.types import InputError


class ChannelState(BaseModel):
    """What this machine knows of its channel (`.channel-state.json` in the settings folder it installs into)."""

    model_config = ConfigDict(defer_build=True)  # built at first use, off the start-up path

    channel: str
    etag: str | None = None  # of the index last read whole and installed from without a fault
    modified: str | None = None
    reached_at: str | None = None  # when the channel last answered
    checked_at: str | None = None  # when it was last asked
    error: str | None = None  # why the last check failed; None when it succeeded
    installed: list[str] = []  # versions this machine installed from the channel, oldest first


def load_state(path: Path, channel: str) -> ChannelState:
    """The state kept for `channel`; a fresh one for a new channel or an unreadable file (it is only a cache)."""
    try:
        state = ChannelState.model_validate(jsonio.loads(path.read_bytes()))
    except (OSError, ValueError, ValidationError, RecursionError):
        return ChannelState(channel=channel)
    return state if state.channel == channel else ChannelState(channel=channel)


def save_state(path: Path, state: ChannelState) -> None:
    with contextlib.suppress(ChannelError):  # a state not kept costs one more full download next time, nothing else
        write_atomic(path, jsonio.dumps(state.model_dump(), indent=2).encode(), durable=False)


@dataclass
class Check:
    """One check's outcome: the versions installed and, when it failed, why."""

    state: ChannelState
    installed: list[str] = field(default_factory=list)

    @property
    def error(self) -> str | None:
        return self.state.error


async def check(
    channel: str,
    folder: Path,
    state_path: Path,
    public_key: Path | None,
    *,
    connect: float = CONNECT_S,
    total: float = TOTAL_S,
) -> Check:
    """Ask the channel once and install the newest valid file newer than what `folder` holds."""
    state = load_state(state_path, channel)
    state.checked_at = now()
    out = Check(state)
    where = channel
    try:
        loc = Location.parse(channel)
        where = loc.where(INDEX)
        async with asyncio.timeout(total):
            await loc.admitted()
            http = await client(loc, connect=connect, total=total)
            async with http:
                await _check(http, loc, state, folder, public_key, out)
    except TimeoutError:
        state.error = f"{where}: no answer within {total:g} s"
    except ChannelError as exc:
        state.error = str(exc)
    except asyncio.CancelledError:  # the session ended first: not a success, asked again at the next start
        state.error = f"{where}: the check was interrupted (the session ended)"
        raise
    finally:
        state.installed += [v for v in out.installed if v not in state.installed]
        save_state(state_path, state)
    return out


async def _check(
    http: httpx.AsyncClient, loc: Location, state: ChannelState, folder: Path, public_key: Path | None, out: Check
) -> None:
    """The index (conditionally), then what is newer; the state says how it went."""
    got = await fetch(http, loc, INDEX, etag=state.etag, modified=state.modified)
    state.reached_at = now()
    state.error = None
    if got.body is not None:
        index = parse_index(got.body, loc.where(INDEX))
        faults = await _install_newest(http, loc, index.newest_first(), folder, public_key, out)
        state.error = faults[0] if faults else None
        # a fault is retried at the next start: only an index installed from cleanly is remembered
        state.etag, state.modified = (None, None) if faults else (got.etag, got.modified)


async def _install_newest(
    http: httpx.AsyncClient,
    loc: Location,
    entries: list[ChannelFile],
    folder: Path,
    public_key: Path | None,
    out: Check,
) -> list[str]:
    """Install the newest entry newer than the folder's newest file, falling back to older ones that are still
    newer; the faults met on the way."""
    have = published_files(folder) if folder.is_dir() else []
    newest_here = have[0].stem if have else None
    faults = []
    for entry in entries:
        if not is_newer(entry.version, newest_here):
            break
        try:
            await _install(http, loc, entry, folder, public_key)
        except (ChannelError, InputError) as exc:
            faults.append(str(exc))
            continue
        out.installed.append(entry.version)
        break
    return faults


async def _install(
    http: httpx.AsyncClient, loc: Location, entry: ChannelFile, folder: Path, public_key: Path | None
) -> None:
    where = loc.where(entry.file)
    if entry.size > MAX_BYTES:
        raise ChannelError(f"{where}: {entry.size:,} bytes by the index, over the {MAX_BYTES // 2**20} MB limit")
    got = await fetch(http, loc, entry.file)
    body = got.body or b""
    if hashlib.sha256(body).hexdigest() != entry.sha256:
        raise ChannelError(f"{where}: its sha256 is not the one the index gives (altered in transit or on the server)")
    try:
        settings = check_recommended(body, where, public_key)
    except InputError as exc:
        raise ChannelError(f"{exc}; not installed") from exc
    if settings.version != entry.version:
        raise ChannelError(f"{where}: holds version {settings.version}, not {entry.version}; not installed")
    write_atomic(folder / entry.file, body)  # checked from its bytes; now whole, by a temporary name and a rename
