"""Client overhead of the engine layer vs a plain asyncio + httpx loop sending the same requests.

1. Instant stub (in its own process): 2,000 short streamed chat requests at concurrency 16; requests/s of
   `Engine.chat` (pooling, retries, typed results, egress guard) vs the bare loop. Goal: ratio >= 0.9.
2. Real engine (embedded SmolLM2, 4 slots): completion tokens/s of both at concurrency 4; goal: within 5%.
Rounds alternate between the two so drift on the machine hits both alike; the best round of each is kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import httpx

from llamune_eval import aio, egress
from llamune_eval.engines import Engine, OpenAIBackend
from llamune_eval.types import Message, SamplingParams

N, CONCURRENCY, ROUNDS = 2000, 16, 3
PROMPT = "次の質問に A〜E の記号で答えてください。"


@contextlib.contextmanager
def instant_stub(*args: str) -> Iterator[str]:
    proc = subprocess.Popen([sys.executable, "-m", "bench._stub", *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert proc.stdout is not None
    port = int(proc.stdout.readline())
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        if proc.stdin:
            proc.stdin.close()
        proc.wait(10)


async def _drive(n: int, concurrency: int, one: Callable[[int], Awaitable[int]]) -> tuple[float, int]:
    """Run `one(i)` for i < n with `concurrency` workers; returns (seconds, summed result)."""
    counter = iter(range(n))
    total = 0

    async def worker() -> None:
        nonlocal total
        for i in counter:
            total += await one(i)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - start, total


def _body(model: str, i: int, max_tokens: int, temperature: float) -> dict[str, Any]:
    return {
        "model": model, "messages": [{"role": "user", "content": f"{PROMPT} ({i})"}], "max_tokens": max_tokens,
        "temperature": temperature, "seed": i, "stream": True, "stream_options": {"include_usage": True},
    }  # fmt: skip


async def bare_loop(
    url: str, model: str, n: int, conc: int, max_tokens: int = 16, temp: float = 0.0
) -> tuple[float, int]:
    """What a careful script would do: one pooled client, stream, parse each SSE line, join the text."""
    limits = httpx.Limits(max_connections=conc * 2, max_keepalive_connections=conc * 2)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=120, trust_env=False) as client:

        async def one(i: int) -> int:
            parts: list[str] = []
            tokens = 0
            request = client.build_request("POST", "/v1/chat/completions", json=_body(model, i, max_tokens, temp))
            try:
                r = await client.send(request, stream=True)
            except httpx.RemoteProtocolError:  # llama.cpp closed a pooled keep-alive connection: resend
                r = await client.send(request, stream=True)
            try:
                async for line in r.aiter_lines():
                    if line.startswith("data: ") and line != "data: [DONE]":
                        chunk = json.loads(line[6:])
                        for c in chunk["choices"]:
                            parts.append(c["delta"].get("content") or "")
                        if chunk.get("usage"):
                            tokens = chunk["usage"]["completion_tokens"]
            finally:
                await r.aclose()
            assert "".join(parts)
            return int(tokens)

        return await _drive(n, conc, one)


async def engine_loop(
    url: str, model: str, n: int, conc: int, max_tokens: int = 16, temp: float = 0.0
) -> tuple[float, int]:
    async with Engine([OpenAIBackend(url, max_concurrency=conc)]) as eng:

        async def one(i: int) -> int:
            msgs = [Message(role="user", content=f"{PROMPT} ({i})")]
            result = await eng.chat(model, msgs, SamplingParams(max_tokens=max_tokens, temperature=temp, seed=i))
            assert result.text
            return result.completion_tokens or 0

        return await _drive(n, conc, one)


def _rounds(
    url: str, model: str, n: int, conc: int, **kw: Any
) -> tuple[list[tuple[float, int]], list[tuple[float, int]]]:
    bare, ours = [], []
    for _ in range(ROUNDS):
        bare.append(asyncio.run(bare_loop(url, model, n, conc, **kw)))
        ours.append(asyncio.run(engine_loop(url, model, n, conc, **kw)))
    return bare, ours


def stub_overhead() -> float:
    with instant_stub() as url:
        asyncio.run(bare_loop(url, "stub", 200, CONCURRENCY))  # warm up both paths
        asyncio.run(engine_loop(url, "stub", 200, CONCURRENCY))
        bare, ours = _rounds(url, "stub", N, CONCURRENCY)
        uv = [aio.run(engine_loop(url, "stub", N, CONCURRENCY)) for _ in range(2)]  # as the commands run it
    b = max(N / s for s, _ in bare)
    o = max(N / s for s, _ in ours)
    u = max(N / s for s, _ in uv)
    print(f"[engine] instant stub, {N} requests @ {CONCURRENCY}: bare httpx loop {b:,.0f} req/s "
          f"({N / b:.2f} s), engine layer {o:,.0f} req/s ({N / o:.2f} s); ratio {o / b:.3f} (goal >= 0.9); "
          f"engine layer on uvloop {u:,.0f} req/s, ratio {u / b:.3f}")  # fmt: skip
    return o / b


def real_engine(n: int = 24, conc: int = 4) -> float | None:
    from llamune_eval.engines import bundled
    from llamune_eval.engines.embedded import EmbeddedServer

    if not bundled.available(bundled.SMOLLM2):
        print("[engine] real engine: skipped, SmolLM2 not installed")
        return None
    srv = EmbeddedServer("smollm2:135m", bundled.model_file(bundled.SMOLLM2), parallel=conc, ctx_per_slot=1024)
    url = srv.start()
    try:
        asyncio.run(bare_loop(url, srv.name, conc, conc, max_tokens=8))
        bare, ours = _rounds(url, srv.name, n, conc, max_tokens=48, temp=0.7)
    finally:
        srv.stop()
    b = max(t / s for s, t in bare)
    o = max(t / s for s, t in ours)
    print(f"[engine] embedded SmolLM2, {n} requests @ {conc} slots, 48 tokens: bare loop {b:.1f} tok/s, "
          f"engine layer {o:.1f} tok/s; ratio {o / b:.3f} (goal >= 0.95)")  # fmt: skip
    return o / b


def main() -> None:
    egress.install()
    stub_overhead()
    real_engine()


if __name__ == "__main__":
    main()
