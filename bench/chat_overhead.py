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


def _on_a_terminal(cmd: list[str], env: dict[str, str], runs: int = 5) -> tuple[float, float]:
    """`llamune chat` on a pseudo-terminal, as a person starts it: the seconds until its prompt is on screen
    (keys typed from then on are kept) and until it is ready (header printed, line editor reading); medians."""
    import fcntl
    import pty
    import select
    import struct
    import termios

    prompt, ready = [], []
    for i in range(runs + 1):  # the first run writes the bytecode caches
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))  # a 120 x 40 terminal
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True)
        os.close(slave)
        seen, first, last = b"", 0.0, 0.0
        while not last and time.perf_counter() - start < 30:
            if select.select([master], [], [], 0.01)[0]:
                try:
                    chunk = os.read(master, 65536)
                except OSError:
                    break
                seen += chunk
                now = time.perf_counter() - start
                first = first or (now if b"> " in seen else 0.0)
                if b"\x1b[6n" in chunk:  # the editor asks where the cursor is, as a terminal would be asked
                    os.write(master, b"\x1b[1;1R")
                _, _, tail = seen.partition("コマンド一覧".encode())
                if b">" in tail:  # the editor's prompt, drawn after the header
                    last = now
        os.write(master, b"/quit\r")
        proc.wait(timeout=30)
        os.close(master)
        if i:
            prompt.append(first)
            ready.append(last)
    return statistics.median(prompt), statistics.median(ready)


def _bare_editor(runs: int = 5) -> float:
    """The floor for any prompt_toolkit prompt: python, asyncio and the editor imported, a prompt drawn."""
    code = (
        "import sys, types; sys.modules['httpx._main'] = types.ModuleType('httpx._main'); import asyncio, httpx; "
        "from prompt_toolkit import PromptSession; print('> ', flush=True)"
    )  # httpx as the engines import it
    return _time([sys.executable, "-c", code], runs=runs)


def startup() -> None:
    base = _time([sys.executable, "-c", "pass"])
    helped = _time([sys.executable, "-m", "llamune_eval.chat.cli", "--help"])
    floor = _bare_editor()
    with tempfile.TemporaryDirectory() as tmp, instant_stub() as url:
        Path(tmp, "llamune.toml").write_text(f'[[engines]]\nkind = "openai"\nurl = "{url}"\n')
        env = {**os.environ, "LLAMUNE_SETTINGS": str(Path(tmp, "none.toml")), "TERM": "xterm"}
        db, cfg = str(Path(tmp, "c.sqlite")), str(Path(tmp, "llamune.toml"))
        cmd = [sys.executable, "-m", "llamune_eval.chat.cli", "chat", "--db", db, "-c", cfg]
        piped = _time(cmd, stdin="/quit\n", env=env)
        prompt, ready = _on_a_terminal(cmd, env)
    print(f"[chat] start-up (median of 5): python -c pass {base:.3f} s; `llamune --help` {helped:.3f} s "
          f"({helped / base:.1f}x); on a terminal the prompt is on screen at {prompt:.3f} s (typing kept from "
          f"then on) and ready at {ready:.3f} s (header, engine's models, line editor), against {floor:.3f} s for "
          f"a bare prompt_toolkit prompt with httpx imported ({ready / floor:.2f}x); piped, to its prompt and out "
          f"{piped:.3f} s")  # fmt: skip


async def _direct_ttft(client: httpx.AsyncClient, question: str) -> float:
    """One pooled client, as the runtime has: the time to the first streamed content."""
    body = {"messages": [{"role": "user", "content": question}], "max_tokens": 8, "temperature": 0.0, "top_p": 1.0,
            "stream": True, "stream_options": {"include_usage": True}}  # fmt: skip
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
    return first


def ttft(n: int = 20) -> None:
    """Questions alternate between a direct stream and the runtime (a new session each time, titles off). Every
    question differs from the one before only in its number, so each request finds the same prefix in llama.cpp's
    prompt cache and computes the same few tokens: a question repeated word for word would be a full cache hit
    for whoever sent it second, and the two kinds of request would not be comparable."""
    from llamune_eval.chat.db import ChatDB
    from llamune_eval.chat.runtime import ChatRuntime
    from llamune_eval.engines import Engine, OpenAIBackend, bundled
    from llamune_eval.engines.embedded import EmbeddedServer
    from llamune_eval.settings import Active, LLMParameters, ModelConfig

    if not bundled.available(bundled.SMOLLM2):
        print("[chat] TTFT: skipped, SmolLM2 not installed")
        return
    srv = EmbeddedServer("smol", bundled.model_file(bundled.SMOLLM2), parallel=1, ctx_per_slot=2048)
    url = srv.start()

    async def both(tmp: str) -> tuple[list[float], list[float]]:
        direct, ours = [], []
        same = LLMParameters(temperature=0.0, top_p=1.0, max_tokens=8)  # the direct stream's request, field for field
        model = ModelConfig(name="smol", priority=1, purpose="bench", parameters=same)
        active = Active(source="installed", version=None, models=[model], execution_order=["smol"], concurrent_limit=1,
                        reason="")  # fmt: skip
        async with Engine([OpenAIBackend(url, max_concurrency=1)]) as engine, httpx.AsyncClient(
            base_url=url, timeout=60, trust_env=False
        ) as client:  # fmt: skip
            rt = ChatRuntime(engine, ChatDB(Path(tmp) / "c.sqlite"), active, ["smol"], titles=False)
            for i in range(n):
                question = f"Say the number {100 + 2 * i + i % 2}."  # three digits each: the same token count

                async def runtime_ttft(question: str = question) -> float:
                    rt.start()
                    first: list[float] = []
                    start = time.perf_counter()
                    await rt.ask(question, on_token=lambda _t: first or first.append(time.perf_counter() - start))
                    return first[0]

                other = question.replace("number 1", "number 5")  # the direct stream's own question
                if i % 2:
                    ours.append(await runtime_ttft())
                    direct.append(await _direct_ttft(client, other))
                else:
                    direct.append(await _direct_ttft(client, other))
                    ours.append(await runtime_ttft())
        return direct, ours

    try:
        with tempfile.TemporaryDirectory() as tmp:
            direct, runtime = asyncio.run(both(tmp))
    finally:
        srv.stop()
    d, r = statistics.median(direct), statistics.median(runtime)
    print(f"[chat] TTFT on SmolLM2 (median of {n}, interleaved): direct httpx stream {d * 1000:.1f} ms, llamune "
          f"runtime {r * 1000:.1f} ms; ratio {r / d:.3f} (goal <= 1.03)")  # fmt: skip


def main() -> None:
    startup()
    ttft()


if __name__ == "__main__":
    main()
