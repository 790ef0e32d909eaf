"""The operator's side: the published settings files of `[paths] recommended` into the channel, then its index.

Files first, the index last, each whole (`transport.put`): a client reading the channel at any moment sees the old
index or the new one, and every file either lists. A preview is never published, older files stay, and a file the
channel already holds is never rewritten: the same bytes again are left as they are, other bytes under the same
version are refused. A channel over http(s) takes signed files only.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llamune_eval import jsonio
from llamune_eval.channel.index import (
    INDEX,
    ChannelError,
    ChannelFile,
    ChannelIndex,
    NotFound,
    entry_for,
    now,
    parse_index,
)
from llamune_eval.channel.transport import Location, client, fetch, put
from llamune_eval.lean_httpx import httpx
from llamune_eval.quarters import quarter_of
from llamune_eval.settings import load_recommended, load_signing_key, published_files, verify_signature


@dataclass
class Published:
    """What a publish did: the versions it wrote, those the channel already held, and the index it left."""

    to: str
    sent: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    index: ChannelIndex | None = None

    @property
    def status(self) -> str:
        return "published" if self.sent else "unchanged"

    def describe(self) -> str:
        sent = f"{', '.join(self.sent)} published" if self.sent else "nothing new"
        kept = f"; {', '.join(self.unchanged)} already there" if self.unchanged else ""
        return f"{sent} to {self.to}{kept}"


def public_half(signing_key: Path) -> bytes:
    """The PEM public key of the operator's Ed25519 signing key: what the users' `[chat] public_key` holds."""
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    public = load_signing_key(signing_key).public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    return bytes(public)


def _files(
    folder: Path, quarter: str | None, signing_key: Path | None, *, signed: bool
) -> list[tuple[bytes, dict[str, Any]]]:
    """The published files to send (oldest first), each checked as a user's `llamune` will check it."""
    paths = [p for p in published_files(folder) if quarter is None or quarter_of(p.stem) == quarter]
    if not paths:
        what = f"{quarter} " if quarter else ""
        raise ChannelError(f"{folder}: no published {what}settings file to publish (a preview is never published)")
    pem = public_half(signing_key) if signing_key is not None else None
    out = []
    for path in reversed(paths):
        load_recommended(path)  # digest and shape, as a user's llamune checks them
        data = path.read_bytes()
        settings = jsonio.loads(data)
        if signed and not isinstance(settings.get("signature"), str):
            raise ChannelError(
                f"{path}: not signed; a channel over http(s) takes signed files only ([recommend] signing_key)"
            )
        if pem is not None and "signature" in settings and not verify_signature(settings, pem):
            raise ChannelError(f"{path}: its signature is not by {signing_key}; not published")
        out.append((data, settings))
    return out


async def publish_channel(
    folder: Path,
    to: str,
    *,
    quarter: str | None = None,
    signing_key: Path | None = None,
    authorization_env: str | None = None,
) -> Published:
    """Publish the folder's files (one quarter's with `quarter`) into the channel at `to`."""
    loc = Location.parse(to)
    files = _files(folder, quarter, signing_key, signed=loc.url is not None)
    await loc.admitted()
    headers = {}
    if authorization_env:
        value = os.environ.get(authorization_env)
        if not value:
            raise ChannelError(f"[publish] authorization_env: ${authorization_env} is not set")
        headers["Authorization"] = value
    out = Published(to)
    async with await client(loc) as http:
        current = await _current_index(http, loc)
        held = current.by_version()
        added: list[ChannelFile] = []
        for data, settings in files:
            entry = entry_for(data, settings)
            there = held.get(entry.version)
            if there is not None and there.sha256 == entry.sha256:
                out.unchanged.append(entry.version)
                continue
            if there is not None:
                raise ChannelError(
                    f"{loc.where(entry.file)}: the channel already holds {entry.version} with other content "
                    f"(sha256 {there.sha256[:12]}…, this one {entry.sha256[:12]}…); a published file is never rewritten"
                )
            await put(http, loc, entry.file, data, headers={**headers, "Content-Type": "application/json"})
            added.append(entry)
            out.sent.append(entry.version)
        out.index = current
        if added:  # the index last: until it names them, no client looks for the new files
            out.index = current.with_files(added)
            index = out.index.dumps().encode()
            await put(http, loc, INDEX, index, headers={**headers, "Content-Type": "application/json"})
    return out


async def _current_index(http: httpx.AsyncClient, loc: Location) -> ChannelIndex:
    """The channel's index as it is now; an empty one when the channel is new."""
    try:
        got = await fetch(http, loc, INDEX)
    except NotFound:
        return ChannelIndex(updated_at=now())
    assert got.body is not None
    try:
        return parse_index(got.body, loc.where(INDEX))
    except ChannelError as exc:
        raise ChannelError(f"{exc}; the channel's index must be repaired or removed before publishing") from exc
