"""The chat runtime's own cost: start-up of `llamune --help` and of `llamune chat` to its prompt (engine excluded:
an instant stub stands in) against `python -c pass`; and the TTFT it adds over a direct httpx stream to the same
real engine (embedded SmolLM2), as a ratio."""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.engine_overhead import instant_stub


def _time(cmd: list[str], *, stdin: str | None = None, env: dict[str, str] | None = None, runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, input=stdin, capture_output=True, text=True, env=env, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def startup() -> None:
    base = _time([sys.executable, "-c", "pass"])
    helped = _time([sys.executable, "-m", "llamune_eval.chat.cli", "--help"])
    with tempfile.TemporaryDirectory() as tmp, instant_stub() as url:
        Path(tmp, "llamune.toml").write_text(f'[[engines]]\nkind = "openai"\nurl = "{url}"\n')
        env = {**os.environ, "LLAMUNE_SETTINGS": str(Path(tmp, "none.toml"))}
        db, cfg = str(Path(tmp, "c.sqlite")), str(Path(tmp, "llamune.toml"))
        cmd = [sys.executable, "-m", "llamune_eval.chat.cli", "chat", "--db", db, "-c", cfg]
        chat = _time(cmd, stdin="/quit\n", env=env)
    print(f"[chat] start-up (median of 5): python -c pass {base:.3f} s, `llamune --help` {helped:.3f} s "
          f"({helped / base:.1f}x), `llamune chat` to its prompt and out {chat:.3f} s "
          f"({chat / base:.1f}x)")  # fmt: skip


async def _direct_ttfts(url: str, n: int) -> list[float]:
    """One pooled client, as the runtime has: the time to the first streamed content."""
    out = []
    async with httpx.AsyncClient(base_url=url, timeout=60, trust_env=False) as client:
        for i in range(n):
            body = {"messages": [{"role": "user", "content": f"Say the number {i}."}], "max_tokens": 8,
                    "temperature": 0, "stream": True}  # fmt: skip
            start = time.perf_counter()
            first = float("nan")
            request = client.build_request("POST", "/v1/chat/completions", json=body)
            try:
                r = await client.send(request, stream=True)
            except httpx.RemoteProtocolError:  # llama.cpp closed the pooled connection: resend, as the runtime does
                r = await client.send(request, stream=True)
            try:
                async for line in r.aiter_lines():
                    if first != first and '"content":"' in line.replace(" ", ""):
                        first = time.perf_counter() - start
            finally:
                await r.aclose()
            out.append(first)
    return out


def ttft() -> None:
    from llamune_eval.chat.db import ChatDB
    from llamune_eval.chat.runtime import ChatRuntime
    from llamune_eval.engines import Engine, OpenAIBackend, bundled
    from llamune_eval.engines.embedded import EmbeddedServer
    from llamune_eval.settings import Active

    if not bundled.available(bundled.SMOLLM2):
        print("[chat] TTFT: skipped, SmolLM2 not installed")
        return
    srv = EmbeddedServer("smol", bundled.resolve(bundled.SMOLLM2), parallel=1, ctx_per_slot=2048)
    url = srv.start()

    async def ours(tmp: str) -> list[float]:
        out = []
        async with Engine([OpenAIBackend(url, max_concurrency=1)]) as engine:
            active = Active(source="bench", version=None, models=[], execution_order=["smol"], concurrent_limit=1,
                            reason="")  # fmt: skip
            rt = ChatRuntime(engine, ChatDB(Path(tmp) / "c.sqlite"), active, ["smol"])
            for i in range(10):
                rt.start()
                first: list[float] = []
                start = time.perf_counter()
                await rt.ask(f"Say the number {i}.", on_token=lambda _t, f=first, s=start: f or f.append(
                    time.perf_counter() - s))  # fmt: skip
                out.append(first[0])
        return out

    try:
        with tempfile.TemporaryDirectory() as tmp:
            direct = asyncio.run(_direct_ttfts(url, 10))
            runtime = asyncio.run(ours(tmp))
    finally:
        srv.stop()
    d, r = statistics.median(direct), statistics.median(runtime)
    print(f"[chat] TTFT on SmolLM2 (median of 10): direct httpx stream {d * 1000:.1f} ms, llamune runtime "
          f"{r * 1000:.1f} ms; ratio {r / d:.3f}")  # fmt: skip


def main() -> None:
    startup()
    ttft()


if __name__ == "__main__":
    main()
