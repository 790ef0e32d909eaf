"""The one interface every caller uses: models, health, and chat over pools of endpoints, with retries.

A model served by several endpoints (Ollama hosts, vLLM replicas) gets a pool; each request goes to the
least-busy endpoint under its concurrency cap, so an operator scales out by listing more URLs. Failures are
retried here, not in the backends, so a retry can move to another endpoint.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncGenerator, Callable, Sequence
from contextlib import aclosing, suppress
from types import TracebackType
from typing import Any

from llamune_eval.config import RetryPolicy, Timeouts
from llamune_eval.engines._backend import Backend
from llamune_eval.engines._http import Clock
from llamune_eval.types import (
    ChatResult,
    EngineError,
    ErrorKind,
    Health,
    LoadedModel,
    Message,
    ModelInfo,
    Restart,
    SamplingParams,
    StreamEvent,
    Token,
    split_thinking,
)

FAILED_COOLDOWN_S = 5.0


class _Slot:
    __slots__ = ("backend", "failed_until", "in_flight", "served")

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.in_flight = 0
        self.served = 0
        self.failed_until = 0.0


class Pool:
    """The endpoints that serve one model; hands out the least-busy one with a free slot."""

    def __init__(self, backends: Sequence[Backend]) -> None:
        self.slots = [_Slot(b) for b in backends]
        self._waiters: deque[asyncio.Future[None]] = deque()

    def _pick(self, avoid: Backend | None) -> _Slot | None:
        """Least-busy free slot among healthy endpoints; failed ones get traffic only when no other exists."""
        now = time.monotonic()
        healthy = [s for s in self.slots if s.failed_until <= now and s.backend is not avoid]
        candidates = healthy or self.slots
        best: _Slot | None = None
        for slot in candidates:
            if slot.in_flight >= slot.backend.max_concurrency:
                continue
            if best is None or (slot.in_flight, slot.served) < (best.in_flight, best.served):
                best = slot
        return best

    async def acquire(self, avoid: Backend | None = None) -> _Slot:
        while True:
            slot = self._pick(avoid)
            if slot is not None:
                slot.in_flight += 1
                slot.served += 1
                return slot
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
                raise

    def release(self, slot: _Slot, failed: bool = False) -> None:
        slot.in_flight -= 1
        if failed:
            slot.failed_until = time.monotonic() + FAILED_COOLDOWN_S
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                break


class Engine:
    """Chat and model facts across all configured backends. Use as an async context manager."""

    def __init__(
        self,
        backends: Sequence[Backend],
        *,
        retry: RetryPolicy | None = None,
        timeouts: Timeouts | None = None,
    ) -> None:
        if not backends:
            raise ValueError("an Engine needs at least one backend")
        self.backends = list(backends)
        self.retry = retry or RetryPolicy()
        self.timeouts = timeouts or Timeouts()
        self._pools: dict[str, Pool] = {}
        self._routes: dict[str, list[Backend]] | None = None
        self._listing: list[ModelInfo] | None = None
        self._single = Pool(self.backends) if len(self.backends) == 1 else None
        self._route_lock = asyncio.Lock()

    async def __aenter__(self) -> Engine:
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await asyncio.gather(*(b.aclose() for b in self.backends), return_exceptions=True)

    async def health(self) -> list[Health]:
        return list(await asyncio.gather(*(b.health() for b in self.backends)))

    async def list_models(self, *, fresh: bool = False) -> list[ModelInfo]:
        """Every model of every reachable backend (an unreachable one shows up in `health`). Asked once per
        Engine: a run's sweep, judge and recommend share one answer (Ollama's costs a request per model);
        `fresh` asks again."""
        if self._listing is None or fresh:
            results = await asyncio.gather(*(b.list_models() for b in self.backends), return_exceptions=True)
            self._listing = [m for r in results if isinstance(r, list) for m in r]
        return list(self._listing)

    async def loaded(self) -> list[LoadedModel]:
        results = await asyncio.gather(*(b.loaded() for b in self.backends), return_exceptions=True)
        return [m for r in results if isinstance(r, list) for m in r]

    async def _refresh_routes(self) -> dict[str, list[Backend]]:
        routes: dict[str, list[Backend]] = {}
        for model in await self.list_models(fresh=self._routes is not None):  # a model missing: ask again
            backend = next(b for b in self.backends if b.endpoint == model.endpoint and b.kind == model.engine)
            routes.setdefault(model.name, []).append(backend)
        self._routes = routes
        return routes

    async def pool(self, model: str) -> Pool:
        """The pool for `model`; one per model for the Engine's life, so caps hold across all callers."""
        if self._single is not None:  # one backend: let it answer for the model itself, no listing round trip
            return self._single
        pool = self._pools.get(model)
        if pool is not None:
            return pool
        async with self._route_lock:
            pool = self._pools.get(model)
            if pool is not None:
                return pool
            routes = self._routes
            if routes is None or model not in routes:
                routes = await self._refresh_routes()
            if model not in routes:
                known = ", ".join(sorted(routes)) or "none"
                raise EngineError(ErrorKind.NOT_FOUND, f"no engine serves model {model!r} (available: {known})")
            pool = self._pools[model] = Pool(routes[model])
            return pool

    async def prepare(self, model: str, num_ctx: int | None = None) -> None:
        """Get `model` ready before anything is timed: engines that load models on demand (Ollama) load it now,
        with the run's context, and keep it loaded. A failure here is left for the requests to report."""
        pool = await self.pool(model)
        for slot in pool.slots:
            prepare = getattr(slot.backend, "prepare", None)
            if prepare is not None:
                with suppress(EngineError):
                    await prepare(model, num_ctx)

    async def width(self, model: str) -> int:
        """Requests to keep in flight for `model`: each endpoint's cap, or what the server answers at once when it
        says (Ollama, measured in `prepare`)."""
        pool = await self.pool(model)
        total = 0
        for slot in pool.slots:
            width = getattr(slot.backend, "width", None)
            total += width(model) if width is not None else slot.backend.max_concurrency
        return max(1, total)

    async def stream(
        self,
        model: str,
        messages: Sequence[Message] | str,
        params: SamplingParams | None = None,
        *,
        json_schema: dict[str, Any] | None = None,
    ) -> AsyncGenerator[StreamEvent, None]:
        """Tokens as they arrive, `Restart` when a failed stream is retried, then one `ChatResult`."""
        msgs = [Message(role="user", content=messages)] if isinstance(messages, str) else messages
        params = params or SamplingParams()
        pool = await self.pool(model)
        avoid: Backend | None = None
        attempt = 0
        while True:
            attempt += 1
            slot = await pool.acquire(avoid)
            emitted = failed = released = False
            result: ChatResult | None = None
            try:
                clock = Clock(self.timeouts.total)
                async with aclosing(slot.backend.stream_once(model, msgs, params, clock, json_schema)) as events:
                    async for event in events:
                        if isinstance(event, Token):
                            emitted = True
                            yield event
                        else:
                            result = event
                            break
                if result is None:
                    raise EngineError(
                        ErrorKind.PROTOCOL, "backend ended without a result", endpoint=slot.backend.endpoint
                    )
                result.attempts = attempt
                if "think>" in result.text:
                    thinking, answer = split_thinking(result.text)
                    joined = "\n\n".join(t for t in (result.thinking, thinking) if t)
                    result = result.model_copy(update={"text": answer, "thinking": joined})
                pool.release(slot)  # before the yield: a consumer may never resume this generator
                released = True
                yield result
                return
            except EngineError as exc:
                exc.attempts = attempt
                failed = exc.kind in (ErrorKind.CONNECT, ErrorKind.TIMEOUT, ErrorKind.ENGINE)
                if not exc.kind.retryable or attempt >= self.retry.attempts:
                    raise
                avoid = slot.backend if len(pool.slots) > 1 else None
                if emitted:
                    yield Restart(attempt=attempt, error=str(exc))
            finally:
                if not released:
                    pool.release(slot, failed)
            await asyncio.sleep(self.retry.delay(attempt))

    async def chat(
        self,
        model: str,
        messages: Sequence[Message] | str,
        params: SamplingParams | None = None,
        *,
        on_token: Callable[[str], object] | None = None,
        on_restart: Callable[[Restart], object] | None = None,
        json_schema: dict[str, Any] | None = None,
    ) -> ChatResult:
        """The whole answer; `on_token` sees it stream, `on_restart` is told to discard a failed attempt."""
        async with aclosing(self.stream(model, messages, params, json_schema=json_schema)) as events:
            async for event in events:
                if isinstance(event, ChatResult):
                    return event
                if isinstance(event, Token):
                    if on_token is not None:
                        on_token(event.text)
                elif on_restart is not None:
                    on_restart(event)
        raise EngineError(ErrorKind.PROTOCOL, "stream ended without a result")
