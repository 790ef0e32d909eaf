"""Reading and writing a channel or a usage drop: a folder (local or a mounted share) or an http(s) URL.

Folders are written by a temporary name and a rename, so a reader never sees half a file; their reads and writes run
in a thread of their own under the caller's time limit, so a stalled share cannot freeze a session. URLs are read
with GET (conditional on the last ETag and Last-Modified, uncompressed, so the size limit counts the bytes that
arrive) and written with PUT, never redirected; a static server's PUT (nginx's WebDAV module, Apache's mod_dav)
writes the body to a temporary file and renames it into place, which gives the same guarantee. Requests stay on the
location's own scheme, host and port (a redirect elsewhere is refused) and within the egress allowlist, its time
limits and the 10 MB size limit; every failure is one `ChannelError` line naming the address and the reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from llamune_eval import egress
from llamune_eval.channel.index import MAX_BYTES, ChannelError, NotFound
from llamune_eval.lean_httpx import httpx

CONNECT_S = 2.0  # to open a connection to the channel or the drop
TOTAL_S = 10.0  # a whole check (index and files) or a whole upload
MAX_REDIRECTS = 5
OK_PUT = (201, 204)  # created, or replaced (an index): anything else did not store the file
DEFAULT_PORTS = {"http": 80, "https": 443}
T = TypeVar("T")


async def off_loop(call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """`call` in a daemon thread of its own: the loop goes on, a caller's timeout can give up on it, and a stuck
    name lookup or share never holds the process at exit (the default executor's threads are waited for)."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[T] = loop.create_future()

    def settle(result: Any, error: BaseException | None) -> None:
        if done.done():  # the caller gave up (its timeout): nobody is waiting
            return
        if error is not None:
            done.set_exception(error)
        else:
            done.set_result(result)

    def run() -> None:
        result, error = None, None
        try:
            result = call(*args, **kwargs)
        except BaseException as exc:  # handed to the awaiting task, whatever it is
            error = exc
        with contextlib.suppress(RuntimeError):  # the loop is gone (the session ended): nobody to tell
            loop.call_soon_threadsafe(settle, result, error)

    threading.Thread(target=run, daemon=True, name="llamune-channel").start()
    return await done


@dataclass(frozen=True)
class Location:
    """A channel or a drop: `url` (ending in /) for http(s), else `folder`."""

    text: str
    url: str | None = None
    folder: Path | None = None

    @classmethod
    def parse(cls, text: str) -> Location:
        if text.lower().startswith(("http://", "https://")):
            try:
                parts = urlsplit(text)
                parts.port  # noqa: B018 (a port that is not a number raises here)
                httpx.URL(text)
            except (ValueError, httpx.InvalidURL) as exc:
                raise ChannelError(f"{text}: not a usable URL ({exc})") from exc
            if not parts.hostname:
                raise ChannelError(f"{text}: not a URL with a host")
            return cls(text, url=text if text.endswith("/") else text + "/")
        return cls(text, folder=Path(text).expanduser())

    @property
    def host(self) -> str | None:
        return urlsplit(self.url).hostname if self.url else None

    @property
    def origin(self) -> tuple[str, str, int] | None:
        """(scheme, host, port) of a URL location: the only place its requests may go."""
        if not self.url:
            return None
        parts = urlsplit(self.url)
        scheme = parts.scheme.lower()
        return scheme, (parts.hostname or "").lower(), parts.port or DEFAULT_PORTS[scheme]

    def where(self, name: str) -> str:
        """The address of `name` in this location, as messages show it."""
        return f"{self.url}{name}" if self.url else str(self.folder / name if self.folder else name)

    def admit(self) -> None:
        """Let the egress guard admit this location's host (and nothing more)."""
        if self.url:
            egress.allow([self.url])

    async def admitted(self) -> None:
        """`admit`, a name's lookup in a thread of its own (`off_loop`): never on the session's loop, and only once
        per process (an address needs no lookup, and a thread would only cost the loop its turn)."""
        host = self.host
        if host and not egress.is_address(host) and host.lower() not in egress.state().hosts:
            await off_loop(self.admit)
        else:
            self.admit()


@dataclass
class Fetched:
    """A GET's outcome: `body` None when the server said it is unchanged (304)."""

    body: bytes | None
    etag: str | None = None
    modified: str | None = None


async def client(loc: Location, *, connect: float = CONNECT_S, total: float = TOTAL_S) -> httpx.AsyncClient:
    """A client for the channel or the drop: no proxy from the environment (an unreviewed egress path), every
    request checked against the allowlist, redirects followed a few times within it. An https location's TLS
    context (50 ms of loading certificates) is made in a thread, so the check never holds up the session's loop;
    plain http and folders need none."""
    https = bool(loc.url and loc.url.lower().startswith("https://"))
    verify = await asyncio.to_thread(httpx.create_ssl_context) if https else False

    home = loc.origin

    async def guard(request: httpx.Request) -> None:
        url = request.url
        here = (url.scheme, url.host.lower(), url.port or DEFAULT_PORTS.get(url.scheme, 0))
        if home is not None and here != home:
            raise ChannelError(f"{url}: not the channel's own address ({loc.url}); not followed")
        if not egress.is_allowed(url.host, url.port):
            raise ChannelError(f"{url}: the egress guard admits only loopback, the engines and the channel")

    return httpx.AsyncClient(
        timeout=httpx.Timeout(total, connect=connect),
        verify=verify,
        trust_env=False,
        follow_redirects=True,
        max_redirects=MAX_REDIRECTS,
        event_hooks={"request": [guard]},
    )


def _reason(exc: BaseException) -> str:
    """Why a request failed, in a few words."""
    if isinstance(exc, httpx.TooManyRedirects):
        return f"more than {MAX_REDIRECTS} redirects"
    if isinstance(exc, httpx.ConnectTimeout):
        return "no connection within the time limit"
    if isinstance(exc, httpx.TimeoutException):
        return "no answer within the time limit"
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect ({str(exc) or type(exc).__name__})"
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError):
        return "the connection was cut"
    if isinstance(exc, egress.EgressBlocked):
        return "refused by the egress guard"
    return str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__


async def fetch(
    http: httpx.AsyncClient,
    loc: Location,
    name: str,
    *,
    etag: str | None = None,
    modified: str | None = None,
    limit: int = MAX_BYTES,
) -> Fetched:
    """`name` from the location; with `etag` / `modified`, None as the body when it has not changed since."""
    where = loc.where(name)
    if loc.folder is not None:
        return await off_loop(_read_folder, loc.folder / name, where, etag, limit)
    headers = {"Accept": "application/json", "Accept-Encoding": "identity"}
    if etag:
        headers["If-None-Match"] = etag
    if modified:
        headers["If-Modified-Since"] = modified
    try:
        async with http.stream("GET", where, headers=headers) as resp:
            if resp.status_code == 304:
                return Fetched(None, etag, modified)
            if resp.status_code != 200:
                raise (NotFound if resp.status_code == 404 else ChannelError)(f"{where}: HTTP {resp.status_code}")
            length = resp.headers.get("Content-Length")
            if length and length.isdigit() and int(length) > limit:
                raise ChannelError(f"{where}: {int(length):,} bytes, over the {limit // 2**20} MB limit; not read")
            body = bytearray()
            async for chunk in resp.aiter_bytes():
                body += chunk
                if len(body) > limit:
                    raise ChannelError(f"{where}: over the {limit // 2**20} MB limit; not read further")
            if length and length.isdigit() and resp.num_bytes_downloaded != int(length):
                raise ChannelError(f"{where}: the connection was cut ({resp.num_bytes_downloaded} of {length} bytes)")
            return Fetched(bytes(body), resp.headers.get("ETag"), resp.headers.get("Last-Modified"))
    except ChannelError:
        raise
    except (httpx.HTTPError, httpx.InvalidURL, OSError, ValueError) as exc:
        raise ChannelError(f"{where}: {_reason(exc)}") from exc


def _read_folder(path: Path, where: str, etag: str | None, limit: int) -> Fetched:
    """A file of a folder channel; its size and modification time stand in for an ETag."""
    try:
        st = path.stat()
        tag = f'"{st.st_mtime_ns:x}-{st.st_size:x}"'
        if etag == tag:
            return Fetched(None, etag)
        if st.st_size > limit:
            raise ChannelError(f"{where}: {st.st_size:,} bytes, over the {limit // 2**20} MB limit; not read")
        with path.open("rb") as f:
            body = f.read(limit + 1)
    except FileNotFoundError as exc:
        raise NotFound(f"{where}: no such file") from exc
    except OSError as exc:
        raise ChannelError(f"{where}: {exc.strerror or exc}") from exc
    if len(body) > limit:
        raise ChannelError(f"{where}: over the {limit // 2**20} MB limit; not read further")
    return Fetched(body, tag)


class TooLarge(ChannelError):
    """The server refused the body as too large (HTTP 413): a smaller file may pass."""


async def put(
    http: httpx.AsyncClient,
    loc: Location,
    name: str,
    data: bytes,
    *,
    headers: dict[str, str] | None = None,
    create: bool = True,
) -> None:
    """Write `name` into the location whole, or raise: a folder by a temporary name and a rename (a missing folder
    is made only with `create`: a drop's folder that is not there may be a share that is not mounted), a URL by PUT,
    whose answer must say the file was stored (201 or 204; never a redirect)."""
    where = loc.where(name)
    if loc.folder is not None:
        await off_loop(write_atomic, loc.folder / name, data, where, create=create)
        return
    try:
        resp = await http.put(where, content=data, headers=headers or {}, follow_redirects=False)
    except (httpx.HTTPError, httpx.InvalidURL, OSError, ValueError) as exc:
        raise ChannelError(f"{where}: {_reason(exc)}") from exc
    if resp.status_code not in OK_PUT:
        raise (TooLarge if resp.status_code == 413 else ChannelError)(f"{where}: HTTP {resp.status_code} to PUT")


def write_atomic(
    path: Path, data: bytes, where: str | None = None, *, durable: bool = True, create: bool = True
) -> None:
    """The whole file or nothing: written under a temporary name beside it, flushed (and, when `durable`, synced to
    the disk), then renamed over it. Without `create`, the folder must already be there."""
    if not create and not path.parent.is_dir():
        raise ChannelError(f"{where or path}: the folder {path.parent} is not there (a share that is not mounted?)")
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tmp.open("wb") as f:
            f.write(data)
            f.flush()
            if durable:
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ChannelError(f"{where or path}: cannot write ({exc.strerror or exc})") from exc
