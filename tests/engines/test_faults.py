"""Fault injection: each failure is retried (or not) as documented and surfaces as a typed error."""

from __future__ import annotations

import socket

import pytest

from llamune_eval.config import RetryPolicy, Timeouts
from llamune_eval.engines import Engine, OllamaBackend, OpenAIBackend
from llamune_eval.types import ChatResult, EngineError, ErrorKind, Restart, SamplingParams, Token
from tests.stubs.faults import TOKENS, FaultServer

FAST_RETRY = RetryPolicy(attempts=3, backoff_base=0.01, backoff_max=0.02)
SHORT = Timeouts(connect=1.0, read=0.5, total=1.5)
P = SamplingParams(max_tokens=8)


def _engine(url: str, kind: str = "openai") -> Engine:
    backend = (
        OpenAIBackend(url, timeouts=SHORT, flavor="openai") if kind == "openai" else OllamaBackend(url, timeouts=SHORT)
    )
    return Engine([backend], retry=FAST_RETRY, timeouts=SHORT)


KINDS = ["openai", "ollama"]


@pytest.mark.parametrize("kind", KINDS)
async def test_reset_mid_stream_is_retried_and_restart_announced(kind: str) -> None:
    with FaultServer(["reset"]) as srv:
        async with _engine(srv.url, kind) as eng:
            events = [e async for e in eng.stream("m", "hi", P)]
    restarts = [e for e in events if isinstance(e, Restart)]
    assert len(restarts) == 1 and "stream_cut" in restarts[0].error
    after = events[events.index(restarts[0]) + 1 :]
    assert "".join(e.text for e in after if isinstance(e, Token)) == "".join(TOKENS)
    result = events[-1]
    assert isinstance(result, ChatResult) and result.attempts == 2 and result.text == "".join(TOKENS)
    assert srv.chats == 2


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("mode", ["502", "503", "reset_early", "stall", "malformed", "cut"])
async def test_transient_failures_are_retried_until_success(kind: str, mode: str) -> None:
    with FaultServer([mode, mode]) as srv:
        async with _engine(srv.url, kind) as eng:
            result = await eng.chat("m", "hi", P)
    assert result.text == "".join(TOKENS) and result.attempts == 3
    assert srv.chats == 3


@pytest.mark.parametrize(
    ("mode", "kind"),
    [
        ("503", ErrorKind.UNAVAILABLE),
        ("reset", ErrorKind.STREAM_CUT),
        ("reset_early", ErrorKind.CONNECT),
        ("stall", ErrorKind.TIMEOUT),
        ("stall_mid", ErrorKind.TIMEOUT),
        ("malformed", ErrorKind.PROTOCOL),
        ("cut", ErrorKind.STREAM_CUT),
    ],
)
async def test_persistent_failures_give_up_after_the_bound(mode: str, kind: ErrorKind) -> None:
    with FaultServer([mode] * 5) as srv:
        async with _engine(srv.url) as eng:
            with pytest.raises(EngineError) as info:
                await eng.chat("m", "hi", P)
    assert info.value.kind is kind
    assert info.value.attempts == 3
    assert srv.chats == 3, "bounded: exactly `attempts` requests"


@pytest.mark.parametrize("mode", ["500", "oom", "error_obj"])
@pytest.mark.parametrize("backend", KINDS)
async def test_an_engine_that_failed_at_the_request_is_not_asked_again(mode: str, backend: str) -> None:
    """Out of memory, another 500, or an error after the answer began: a retry would only load the model again."""
    with FaultServer([mode] * 3) as srv:
        async with _engine(srv.url, backend) as eng:
            with pytest.raises(EngineError) as info:
                await eng.chat("m", "hi", P)
    assert info.value.kind is ErrorKind.SERVER and info.value.attempts == 1
    assert srv.chats == 1
    if mode == "oom":
        assert "more system memory" in info.value.message


@pytest.mark.parametrize(("mode", "kind"), [("404", ErrorKind.NOT_FOUND), ("400", ErrorKind.CLIENT)])
@pytest.mark.parametrize("backend", KINDS)
async def test_4xx_is_not_retried(mode: str, kind: ErrorKind, backend: str) -> None:
    with FaultServer([mode]) as srv:
        async with _engine(srv.url, backend) as eng:
            with pytest.raises(EngineError) as info:
                await eng.chat("m", "hi", P)
    assert info.value.kind is kind and info.value.status == int(mode)
    assert "injected" in info.value.message  # the server's own message is kept
    assert srv.chats == 1


async def test_total_timeout_bounds_a_trickling_answer() -> None:
    with FaultServer(["trickle"] * 3) as srv:
        async with Engine(
            [OpenAIBackend(srv.url, timeouts=SHORT, flavor="openai")],
            retry=RetryPolicy(attempts=1),
            timeouts=SHORT,
        ) as eng:
            with pytest.raises(EngineError) as info:
                await eng.chat("m", "hi", P)
    assert info.value.kind is ErrorKind.TIMEOUT and "total timeout" in info.value.message


async def test_connection_refused_is_a_connect_error_after_retries() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound but not listening: connections are refused
        async with _engine(f"http://127.0.0.1:{port}") as eng:
            with pytest.raises(EngineError) as info:
                await eng.chat("m", "hi", P)
    assert info.value.kind is ErrorKind.CONNECT and info.value.attempts == 3


@pytest.mark.parametrize("kind", KINDS)
async def test_stale_keepalive_connection_is_resent_at_once(kind: str) -> None:
    with FaultServer(["close_early"]) as srv:
        async with _engine(srv.url, kind) as eng:
            result = await eng.chat("m", "hi", P)
    assert result.attempts == 1 and result.text == "".join(TOKENS)
    assert srv.chats == 2


def test_backoff_is_exponential_bounded_and_jittered() -> None:
    policy = RetryPolicy(backoff_base=0.5, backoff_max=4.0, jitter=False)
    assert [policy.delay(a) for a in (1, 2, 3, 4, 5)] == [0.5, 1.0, 2.0, 4.0, 4.0]
    jittered = RetryPolicy(backoff_base=0.5, backoff_max=4.0)
    samples = [jittered.delay(3) for _ in range(200)]
    assert all(0 <= s <= 2.0 for s in samples) and len(set(samples)) > 100
