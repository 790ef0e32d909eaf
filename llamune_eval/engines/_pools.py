"""Many connections to one engine as several small pools.

httpcore's pool walks every connection and every waiting request each time a request starts or a response
closes, so one pool of 64 connections spends more time on its own bookkeeping than on the requests: against an
instant engine, 64 concurrent short requests went at 166 requests/s through one pool and at 1,168 through eight
pools of eight (`python -m bench short`). A `ShardedTransport` holds pools of at most `SHARD` connections and
gives each request to the one with the fewest requests in flight. Each pool is an ordinary `AsyncHTTPTransport`
(made by the caller, with its byte counter), so timeouts, the egress check, retries and streaming are the
client's as before.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

from llamune_eval.lean_httpx import httpx

SHARD = 8  # connections per pool


def sizes(connections: int) -> list[int]:
    """`connections` split into pools of at most `SHARD`, as even as can be (10 -> 5 and 5, not 8 and 2)."""
    count = max(1, -(-connections // SHARD))
    base, extra = divmod(max(1, connections), count)
    return [base + (i < extra) for i in range(count)]


class _Released(httpx.AsyncByteStream):
    """A response's body that gives its pool's slot back once, when it is closed."""

    def __init__(self, inner: httpx.AsyncByteStream, release: Callable[[], None]) -> None:
        self.inner, self.release = inner, release

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self.inner:
            yield chunk

    async def aclose(self) -> None:
        try:
            await self.inner.aclose()
        finally:
            release, self.release = self.release, lambda: None
            release()


class ShardedTransport(httpx.AsyncBaseTransport):
    def __init__(self, make: Callable[[int], httpx.AsyncHTTPTransport], connections: int) -> None:
        self.pools = [make(size) for size in sizes(connections)]
        self.busy = [0] * len(self.pools)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        i = self.busy.index(min(self.busy)) if len(self.busy) > 1 else 0
        self.busy[i] += 1
        try:
            response = await self.pools[i].handle_async_request(request)
        except BaseException:
            self.busy[i] -= 1
            raise

        def release() -> None:
            self.busy[i] -= 1

        assert isinstance(response.stream, httpx.AsyncByteStream)
        response.stream = _Released(response.stream, release)
        return response

    async def aclose(self) -> None:
        for pool in self.pools:
            await pool.aclose()
