"""A small HTTP/1.1 server on asyncio streams for protocol-faithful test servers and fault injection.

Not a framework: just enough (keep-alive, Content-Length and chunked bodies, aborting a connection mid-answer)
to speak the Ollama and OpenAI wire protocols exactly and to break them on purpose. It runs in its own thread
and event loop so a test's client loop and the server never share a scheduler.
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 500: "Internal Server Error", 503: "Service Unavailable"}


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass
class Reply:
    """Writes one answer; a handler either calls `send` or `start` + `chunk`... + `end`."""

    writer: asyncio.StreamWriter
    chunked: bool = False
    closed: bool = False

    async def send(
        self, status: int, body: bytes | dict[str, Any] | list[Any], ctype: str = "application/json"
    ) -> None:
        data = json.dumps(body).encode() if isinstance(body, dict | list) else body
        head = (
            f"HTTP/1.1 {status} {REASONS.get(status, 'Status')}\r\nContent-Type: {ctype}\r\n"
            f"Content-Length: {len(data)}\r\n\r\n"
        )
        self.writer.write(head.encode() + data)
        await self.writer.drain()

    async def start(self, status: int = 200, ctype: str = "application/x-ndjson") -> None:
        head = (
            f"HTTP/1.1 {status} {REASONS.get(status, 'Status')}\r\nContent-Type: {ctype}\r\n"
            "Transfer-Encoding: chunked\r\n\r\n"
        )
        self.writer.write(head.encode())
        self.chunked = True

    async def chunk(self, data: bytes | str) -> None:
        raw = data.encode() if isinstance(data, str) else data
        if raw:
            self.writer.write(f"{len(raw):x}\r\n".encode() + raw + b"\r\n")
            await self.writer.drain()

    async def end(self) -> None:
        self.writer.write(b"0\r\n\r\n")
        await self.writer.drain()

    def abort(self) -> None:
        """Reset the connection (RST, not FIN): what a crashed engine or a dropped link looks like."""
        sock = self.writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.writer.transport.abort()
        self.closed = True


Handler = Callable[[Request, Reply], Awaitable[None]]


@dataclass
class StubServer:
    routes: dict[tuple[str, str], Handler]
    host: str = "127.0.0.1"
    port: int = 0
    requests: list[Request] = field(default_factory=list)
    _arrived: threading.Condition = field(default_factory=threading.Condition)  # notified at every request
    _loop: asyncio.AbstractEventLoop | None = None
    _server: asyncio.Server | None = None
    _thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def count(self, path: str) -> int:
        return sum(1 for r in self.requests if r.path == path)

    def wait_until(self, predicate: Callable[[], bool], timeout: float, what: str) -> None:
        """Block until `predicate()` holds (checked at every request received); TimeoutError after `timeout`."""
        with self._arrived:
            if not self._arrived.wait_for(predicate, timeout):
                raise TimeoutError(f"{what}: not after {timeout:g}s ({len(self.requests)} requests received)")

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                line = await reader.readline()
                if not line:
                    return
                method, target, _ = line.decode().split(" ", 2)
                headers: dict[str, str] = {}
                while (h := await reader.readline()) not in (b"\r\n", b"\n", b""):
                    k, _, v = h.decode().partition(":")
                    headers[k.strip().lower()] = v.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                req = Request(method, target.split("?", 1)[0], headers, body)
                with self._arrived:
                    self.requests.append(req)
                    self._arrived.notify_all()
                reply = Reply(writer)
                handler = self.routes.get((method, req.path)) or self.routes.get((method, "*"))  # "*": any path
                if handler is None:
                    await reply.send(404, {"error": f"no route {method} {req.path}"})
                else:
                    await handler(req, reply)
                if reply.closed:
                    return
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            return
        finally:
            if not writer.transport.is_closing():
                writer.close()

    def start(self) -> StubServer:
        ready = threading.Event()

        def run() -> None:
            self._loop = asyncio.new_event_loop()

            async def boot() -> None:
                self._server = await asyncio.start_server(self._handle, self.host, self.port, backlog=1024)
                self.port = self._server.sockets[0].getsockname()[1]
                ready.set()

            self._loop.run_until_complete(boot())
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError(f"stub server on {self.host} did not start listening within 10 s")
        return self

    def stop(self) -> None:
        if self._loop is None or self._server is None:
            return
        loop, server = self._loop, self._server

        async def shutdown() -> None:
            server.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(shutdown(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread:
            self._thread.join(5)
        loop.close()

    def __enter__(self) -> StubServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
