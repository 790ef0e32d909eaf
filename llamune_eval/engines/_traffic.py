"""Bytes on the wire, measured where the engine clients actually send and receive them: httpcore's network
streams. Every read and write of every connection our HTTP clients open is counted, split into the engine the
client was made for and anything else (a redirect or an absolute URL to another host; the egress guard refuses
those before a byte leaves, so that figure is a measurement that stays 0, not a constant)."""

from __future__ import annotations

import select
import ssl
import typing

import httpcore

from llamune_eval import egress


class _Socket(typing.Protocol):
    def fileno(self) -> int: ...


def _count(engine: bool, n: int) -> None:
    st = egress.state()
    if engine:
        st.engine_bytes += n
    else:
        st.external_bytes += n


def _readable(sock: _Socket) -> bool:
    """Would a read return at once (data, or the server's close)? httpcore asks this of every idle pooled
    connection on every request; anyio answers by building its whole attribute table each time, a third of the
    client's time against a fast engine. The same poll, on the socket kept from connect."""
    fd = sock.fileno()
    if fd < 0:
        return True
    poll = select.poll()
    poll.register(fd, select.POLLIN)
    return bool(poll.poll(0))


class CountingStream(httpcore.AsyncNetworkStream):
    def __init__(self, inner: httpcore.AsyncNetworkStream, engine: bool) -> None:
        self.inner, self.engine = inner, engine
        raw = inner.get_extra_info("socket") if hasattr(select, "poll") else None  # asyncio/uvloop wrap the socket
        self._socket: _Socket | None = raw if callable(getattr(raw, "fileno", None)) else None

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        data = await self.inner.read(max_bytes, timeout)
        _count(self.engine, len(data))
        return data

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self.inner.write(buffer, timeout)
        _count(self.engine, len(buffer))

    async def aclose(self) -> None:
        await self.inner.aclose()

    async def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.AsyncNetworkStream:
        return CountingStream(await self.inner.start_tls(ssl_context, server_hostname, timeout), self.engine)

    def get_extra_info(self, info: str) -> typing.Any:
        if info == "is_readable" and self._socket is not None:
            return _readable(self._socket)
        return self.inner.get_extra_info(info)


class CountingBackend(httpcore.AsyncNetworkBackend):
    """Wraps a client's network backend; connections to (`host`, `port`) are the engine's."""

    def __init__(self, inner: httpcore.AsyncNetworkBackend, host: str, port: int | None) -> None:
        self.inner, self.host, self.port = inner, host.strip("[]").lower(), port

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[typing.Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        stream = await self.inner.connect_tcp(host, port, timeout, local_address, socket_options)
        engine = host.strip("[]").lower() == self.host and (self.port is None or port == self.port)
        return CountingStream(stream, engine)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[typing.Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return CountingStream(await self.inner.connect_unix_socket(path, timeout, socket_options), False)

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)
