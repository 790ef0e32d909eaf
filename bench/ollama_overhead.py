"""Client overhead of the Ollama backend (think, keep_alive, thinking apart, queue and load taken out of the
timings, truncation check) vs a plain asyncio + httpx loop reading the same NDJSON stream.

Instant Ollama-protocol stub in its own process: 2,000 short streamed chats at concurrency 16; requests/s of
`Engine.chat` with `OllamaBackend` vs the bare loop, interleaved rounds, best of each. Goal: ratio >= 0.9.
"""

from __future__ import annotations

import asyncio
import json

import httpx

from bench.engine_overhead import CONCURRENCY, PROMPT, ROUNDS, N, _drive, instant_stub
from llamune_eval.engines import Engine, OllamaBackend
from llamune_eval.types import Message, SamplingParams


async def bare_loop(url: str, n: int, conc: int) -> tuple[float, int]:
    limits = httpx.Limits(max_connections=conc * 2, max_keepalive_connections=conc * 2)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=120, trust_env=False) as client:

        async def one(i: int) -> int:
            body = {"model": "stub", "messages": [{"role": "user", "content": f"{PROMPT} ({i})"}], "stream": True,
                    "options": {"num_predict": 16, "temperature": 0.0, "seed": i}}  # fmt: skip
            parts: list[str] = []
            tokens = 0
            async with client.stream("POST", "/api/chat", json=body) as r:
                async for line in r.aiter_lines():
                    if line:
                        obj = json.loads(line)
                        parts.append(obj["message"]["content"])
                        tokens = obj.get("eval_count", tokens)
            assert "".join(parts)
            return int(tokens)

        return await _drive(n, conc, one)


async def engine_loop(url: str, n: int, conc: int) -> tuple[float, int]:
    async with Engine([OllamaBackend(url, max_concurrency=conc, num_parallel=conc)]) as eng:

        async def one(i: int) -> int:
            msgs = [Message(role="user", content=f"{PROMPT} ({i})")]
            result = await eng.chat("stub", msgs, SamplingParams(max_tokens=16, temperature=0.0, seed=i))
            assert result.text and result.queue_s is not None
            return result.completion_tokens or 0

        return await _drive(n, conc, one)


def main() -> None:
    with instant_stub() as url:
        asyncio.run(bare_loop(url, 200, CONCURRENCY))  # warm up both paths
        asyncio.run(engine_loop(url, 200, CONCURRENCY))
        bare, ours = [], []
        for _ in range(ROUNDS):
            bare.append(asyncio.run(bare_loop(url, N, CONCURRENCY)))
            ours.append(asyncio.run(engine_loop(url, N, CONCURRENCY)))
    b = max(N / s for s, _ in bare)
    o = max(N / s for s, _ in ours)
    print(f"[ollama] instant Ollama-protocol stub, {N} streamed chats @ {CONCURRENCY}: bare httpx loop {b:,.0f} "
          f"req/s ({N / b:.2f} s), Ollama backend {o:,.0f} req/s ({N / o:.2f} s); ratio {o / b:.3f} "
          "(goal >= 0.9)")  # fmt: skip


if __name__ == "__main__":
    main()
