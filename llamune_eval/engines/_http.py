"""HTTP plumbing shared by the backends: client construction, the egress check, and error classification."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson  # 3-10x faster than json on the per-request and per-chunk path

from llamune_eval import egress
from llamune_eval.config import Timeouts
from llamune_eval.engines._pools import ShardedTransport
from llamune_eval.engines._traffic import CountingBackend
from llamune_eval.lean_httpx import httpx
from llamune_eval.types import EngineError, ErrorKind

_JSON_HEADERS = {"Content-Type": "application/json"}
loads = orjson.loads


def make_client(
    base_url: str, timeouts: Timeouts, *, max_connections: int = 64, headers: dict[str, str] | None = None
) -> httpx.AsyncClient:
    """A pooled client for one endpoint, refused up front when its host is outside the egress allowlist."""
    url = httpx.URL(base_url)
    if not egress.is_allowed(url.host, url.port):
        raise EngineError(
            ErrorKind.EGRESS,
            f"{url.host} is neither loopback nor a configured engine host",
            endpoint=base_url,
        )
    default_port = {"http": 80, "https": 443}.get(url.scheme)

    def pool(size: int) -> httpx.AsyncHTTPTransport:
        transport = httpx.AsyncHTTPTransport(
            limits=httpx.Limits(max_connections=size, max_keepalive_connections=size),
            trust_env=False,  # a proxy from the environment would be an unreviewed egress path
            verify=url.scheme == "https",  # plain-HTTP engines skip loading the CA bundle (tens of ms per client)
        )
        inner = transport._pool  # httpcore's pool: its network backend is where bytes meet the socket
        inner._network_backend = CountingBackend(inner._network_backend, url.host, url.port or default_port)
        return transport

    transport = ShardedTransport(pool, max_connections)  # small pools: one large one is slow (`_pools.py`)
    return httpx.AsyncClient(
        base_url=base_url,
        timeout=httpx.Timeout(timeouts.read, connect=timeouts.connect, write=timeouts.read, pool=None),
        transport=transport,
        headers=headers,
        trust_env=False,
        event_hooks={"request": [_guard]},
    )


async def _guard(request: httpx.Request) -> None:
    """Every request is checked, not just the base URL: an absolute URL or a loop that connects in C (uvloop)
    must not carry a request past the egress allowlist."""
    if not egress.is_allowed(request.url.host, request.url.port):
        raise EngineError(ErrorKind.EGRESS, f"{request.url.host} is neither loopback nor a configured engine host")


MAX_BYTES_PER_TOKEN = 256  # far above any tokenizer's longest token: only a prompt that cannot fit is refused


def refuse_oversize(messages: Any, context: int | None, endpoint: str) -> None:
    """A prompt whose characters alone exceed what `context` tokens could ever hold is not sent: the engine would
    spend seconds and gigabytes tokenizing it (a 50 MB input took llama.cpp 25 s and 2.7 GB) only to refuse it, or
    (Ollama) cut it silently. Characters are a lower bound on bytes, so nothing that might fit is refused."""
    if not context:
        return
    chars = sum(len(m.content) for m in messages)
    if chars > context * MAX_BYTES_PER_TOKEN:
        raise EngineError(
            ErrorKind.TRUNCATED,
            f"the prompt has {chars:,} characters, more than a {context:,}-token context can hold: not sent",
            endpoint=endpoint,
        )


def _egress_cause(exc: BaseException) -> egress.EgressBlocked | None:
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            return None
        if isinstance(seen, egress.EgressBlocked):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def classify(exc: BaseException, endpoint: str, *, in_body: bool = False) -> EngineError:
    """Map a transport exception to a typed error; `in_body` marks a failure after the answer began."""
    if isinstance(exc, EngineError):
        return exc
    blocked = _egress_cause(exc)
    if blocked is not None:
        return EngineError(ErrorKind.EGRESS, str(blocked), endpoint=endpoint)
    if isinstance(exc, httpx.TimeoutException):
        return EngineError(ErrorKind.TIMEOUT, f"{type(exc).__name__}: no answer in time", endpoint=endpoint)
    if isinstance(exc, httpx.ConnectError):
        return EngineError(ErrorKind.CONNECT, f"cannot connect: {exc}", endpoint=endpoint)
    if isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)):
        kind = ErrorKind.STREAM_CUT if in_body else ErrorKind.CONNECT
        return EngineError(kind, f"connection lost: {exc or type(exc).__name__}", endpoint=endpoint)
    if isinstance(exc, (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, ValueError)):
        return EngineError(ErrorKind.PROTOCOL, f"malformed response: {exc}", endpoint=endpoint)
    if isinstance(exc, httpx.HTTPError):
        return EngineError(ErrorKind.CONNECT, f"{type(exc).__name__}: {exc}", endpoint=endpoint)
    raise exc


def _error_text(body: bytes) -> str:
    try:
        data = json.loads(body)
    except ValueError:
        return body.decode("utf-8", "replace").strip()[:300]
    err = data.get("error") if isinstance(data, dict) else None
    if isinstance(err, dict):
        return str(err.get("message") or err)[:300]
    return str(err or data)[:300]


async def check_status(resp: httpx.Response, endpoint: str) -> None:
    """Turn a non-2xx answer into a typed error carrying the server's own message."""
    if resp.status_code < 300:
        return
    body = await resp.aread()
    text = _error_text(body) or resp.reason_phrase
    status = resp.status_code
    if status == 404:
        kind = ErrorKind.NOT_FOUND
    elif status in (429, 502, 503, 504):  # busy, restarting, or a proxy lost it: worth another try
        kind = ErrorKind.UNAVAILABLE
    elif status >= 500:  # the engine failed at this request (Ollama: "model requires more system memory")
        kind = ErrorKind.SERVER
    else:
        kind = ErrorKind.CLIENT
    raise EngineError(kind, f"HTTP {status}: {text}", endpoint=endpoint, status=status)


async def send_stream(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> httpx.Response:
    """POST and return the streaming response, resending once if a pooled keep-alive connection was stale.

    llama.cpp's server closes idle keep-alive connections on its own schedule; a request that meets such a
    connection fails before the server has read it, so resending it at once is safe and costs no backoff.
    """
    request = client.build_request("POST", path, content=orjson.dumps(body), headers=_JSON_HEADERS)
    try:
        return await client.send(request, stream=True)
    except httpx.RemoteProtocolError:
        return await client.send(request, stream=True)


@asynccontextmanager
async def post_lines(
    client: httpx.AsyncClient, path: str, body: dict[str, Any], endpoint: str
) -> AsyncIterator[AsyncIterator[str]]:
    """POST and stream the answer's lines; any failure inside the block, the caller's parsing included, leaves
    as a typed EngineError (a failure after the status line counts as a cut stream)."""
    in_body = False
    try:
        resp = await send_stream(client, path, body)
        try:
            await check_status(resp, endpoint)
            in_body = True
            yield resp.aiter_lines()
        finally:
            await resp.aclose()
    except EngineError:
        raise
    except Exception as exc:
        raise classify(exc, endpoint, in_body=in_body) from exc


async def get_json(client: httpx.AsyncClient, path: str, endpoint: str, **kw: Any) -> Any:
    """GET/POST a small JSON document with the same error mapping as chat requests."""
    method = "POST" if "json" in kw else "GET"
    try:
        resp = await client.request(method, path, **kw)
        await check_status(resp, endpoint)
        return resp.json()
    except EngineError:
        raise
    except Exception as exc:
        raise classify(exc, endpoint) from exc


class Clock:
    """Timings of one attempt: time to first token, total latency, and the total-timeout deadline."""

    __slots__ = ("deadline", "first", "start", "total")

    def __init__(self, total: float) -> None:
        self.start = time.perf_counter()
        self.first: float | None = None
        self.total = total
        self.deadline = self.start + total

    def restart(self) -> float:
        """Start timing afresh (after an embedded model loaded); returns the seconds that went before."""
        before = time.perf_counter() - self.start
        self.start = time.perf_counter()
        self.deadline = self.start + self.total
        return before

    def token(self) -> None:
        if self.first is None:
            self.first = time.perf_counter()

    def check(self, endpoint: str) -> None:
        if time.perf_counter() > self.deadline:
            raise EngineError(ErrorKind.TIMEOUT, f"answer exceeded total timeout {self.total:g}s", endpoint=endpoint)

    @property
    def ttft(self) -> float | None:
        return None if self.first is None else self.first - self.start

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def rate(self, completion_tokens: int | None) -> float | None:
        """Decode speed measured client-side, used when the engine reports no timings of its own."""
        if not completion_tokens or self.first is None:
            return None
        span = time.perf_counter() - self.first
        return completion_tokens / span if span > 0 else None
