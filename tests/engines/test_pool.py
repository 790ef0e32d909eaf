"""Endpoint pools: least-busy routing under per-endpoint caps, failover, and routing by model."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Sequence
from typing import Any

import pytest

from llamune_eval.config import RetryPolicy
from llamune_eval.engines import Engine, OpenAIBackend
from llamune_eval.engines._http import Clock
from llamune_eval.types import (
    ChatResult,
    EngineError,
    ErrorKind,
    FinishReason,
    Health,
    LoadedModel,
    Message,
    ModelInfo,
    SamplingParams,
    Token,
)
from tests.stubs.faults import FaultServer


class Rounds:
    """Holds every request in flight until the test lets the round go: concurrency is counted, never timed."""

    def __init__(self) -> None:
        self.held: list[asyncio.Future[None]] = []
        self.changed = asyncio.Condition()

    async def hold(self) -> None:
        done = asyncio.get_running_loop().create_future()
        async with self.changed:
            self.held.append(done)
            self.changed.notify_all()
        await done

    async def until(self, n: int) -> None:
        """Until `n` requests are held (10 s at most)."""
        async with asyncio.timeout(10), self.changed:
            await self.changed.wait_for(lambda: len(self.held) >= n)

    def release(self) -> None:
        for done in self.held:
            done.set_result(None)
        self.held = []


class FakeBackend:
    """A backend that records its peak concurrency; the pool logic is what is under test here. With `rounds`,
    each request waits in flight until the test releases its round."""

    kind = "fake"

    def __init__(
        self, name: str, cap: int, models: Sequence[str] = ("m",), fail: bool = False, rounds: Rounds | None = None
    ) -> None:
        self.endpoint, self.max_concurrency = name, cap
        self.models, self.fail, self.rounds = list(models), fail, rounds
        self.active = self.peak = self.served = 0

    async def health(self) -> Health:
        return Health(endpoint=self.endpoint, engine=self.kind, ok=True)

    async def list_models(self) -> list[ModelInfo]:
        return [ModelInfo(name=m, engine=self.kind, endpoint=self.endpoint) for m in self.models]

    async def loaded(self) -> list[LoadedModel]:
        return []

    async def stream_once(
        self,
        model: str,
        messages: Sequence[Message],
        params: SamplingParams,
        clock: Clock,
        json_schema: dict[str, Any] | None = None,
    ) -> AsyncGenerator[Token | ChatResult, None]:
        self.active += 1
        self.peak = max(self.peak, self.active)
        try:
            await (self.rounds.hold() if self.rounds else asyncio.sleep(0))
            if self.fail:
                raise EngineError(ErrorKind.CONNECT, "down", endpoint=self.endpoint)
            self.served += 1
            yield Token("ok")
            yield ChatResult(text="ok", finish_reason=FinishReason.STOP, model=model, endpoint=self.endpoint)
        finally:
            self.active -= 1

    async def aclose(self) -> None:
        return None


async def test_requests_spread_least_busy_under_caps() -> None:
    """60 requests, 6 slots: in every round both endpoints are full and none is over its cap."""
    rounds = Rounds()
    a, b = FakeBackend("a", cap=2, rounds=rounds), FakeBackend("b", cap=4, rounds=rounds)
    async with Engine([a, b]) as eng:
        asked = asyncio.gather(*(eng.chat("m", "x") for _ in range(60)))
        for _ in range(10):
            await rounds.until(6)
            assert (a.active, b.active) == (2, 4), "both endpoints saturated, neither over its cap"
            rounds.release()
        results = await asked
    assert [r.endpoint for r in results].count("b") == 40
    assert (a.peak, b.peak, a.served, b.served) == (2, 4, 20, 40)


async def test_failover_moves_retries_to_a_healthy_endpoint() -> None:
    down, up = FakeBackend("down", cap=4, fail=True), FakeBackend("up", cap=4)
    async with Engine([down, up], retry=RetryPolicy(attempts=2, backoff_base=0.001)) as eng:
        results = await asyncio.gather(*(eng.chat("m", "x") for _ in range(20)))
    assert all(r.endpoint == "up" for r in results)
    assert up.served == 20


async def test_models_route_to_the_endpoints_that_serve_them() -> None:
    a, b = FakeBackend("a", 2, models=["x"]), FakeBackend("b", 2, models=["x", "y"])
    async with Engine([a, b]) as eng:
        ys = await asyncio.gather(*(eng.chat("y", "q") for _ in range(6)))
        assert {r.endpoint for r in ys} == {"b"}
        with pytest.raises(EngineError) as info:
            await eng.chat("z", "q")
    assert info.value.kind is ErrorKind.NOT_FOUND and "x, y" in str(info.value)


async def test_pool_over_two_real_http_endpoints() -> None:
    with FaultServer() as s1, FaultServer() as s2:
        backends = [OpenAIBackend(s.url, max_concurrency=2, flavor="openai") for s in (s1, s2)]
        async with Engine(backends) as eng:
            await asyncio.gather(*(eng.chat("m", "x", SamplingParams(max_tokens=4)) for _ in range(40)))
        assert s1.chats + s2.chats == 40 and min(s1.chats, s2.chats) >= 10


async def test_the_model_list_is_asked_once_per_engine_and_again_only_for_a_model_it_lacks() -> None:
    """A quarter's stages share one Engine: its listing is remembered. A model that was not there (served since,
    or mistyped) makes the routes ask once more before it is refused."""
    with FaultServer() as s1, FaultServer() as s2:
        backends = [OpenAIBackend(s.url, max_concurrency=2, flavor="openai") for s in (s1, s2)]
        async with Engine(backends) as eng:
            first = await eng.list_models()
            again = await eng.list_models()
            assert [m.name for m in first] == [m.name for m in again] == ["m", "m"]
            assert (s1.server.count("/v1/models"), s2.server.count("/v1/models")) == (1, 1)
            await eng.chat("m", "x", SamplingParams(max_tokens=4))  # routes from the remembered listing
            assert (s1.server.count("/v1/models"), s2.server.count("/v1/models")) == (1, 1)
            with pytest.raises(EngineError) as info:
                await eng.chat("absent", "x", SamplingParams(max_tokens=4))
            assert info.value.kind is ErrorKind.NOT_FOUND
            assert (s1.server.count("/v1/models"), s2.server.count("/v1/models")) == (2, 2)
            await eng.list_models(fresh=True)
            assert (s1.server.count("/v1/models"), s2.server.count("/v1/models")) == (3, 3)
