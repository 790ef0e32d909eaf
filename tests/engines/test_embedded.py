"""The embedded engine: lazy child per model, real generation, crash recovery, and no orphans."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from llamune_eval.config import RetryPolicy
from llamune_eval.engines import EmbeddedBackend, Engine
from llamune_eval.types import ChatResult, EngineError, ErrorKind, Restart, SamplingParams

pytestmark = pytest.mark.engine  # every test here starts llama.cpp children
MODEL = "smollm2:135m"


def _gone(pid: int, within: float = 10.0) -> bool:
    """Whether `pid` has exited (a zombie counts) within `within` seconds: its pidfd turns readable when it does."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        return bool(select.select([fd], [], [], within)[0])
    finally:
        os.close(fd)


@pytest.fixture
async def embedded(smollm2_path: Path):
    backend = EmbeddedBackend({MODEL: smollm2_path}, parallel=2, ctx_per_slot=1024, threads=2)
    async with Engine([backend], retry=RetryPolicy(attempts=3, backoff_base=0.05)) as eng:
        yield eng, backend


async def test_lists_without_starting_then_starts_on_first_chat(embedded: tuple[Engine, EmbeddedBackend]) -> None:
    engine, _ = embedded
    [info] = await engine.list_models()
    assert (info.name, info.family, info.quantization, info.context_length) == (MODEL, "llama", "Q4_1", 8192)
    assert await engine.loaded() == [], "listing must not load the model"
    result = await engine.chat(MODEL, "Say yes.", SamplingParams(temperature=0, max_tokens=8))
    assert result.text and result.completion_tokens
    assert result.engine_timings["load_s"] > 0, "the first answer reports the model load separately"
    assert result.ttft_s is not None and result.ttft_s < result.engine_timings["load_s"] + result.latency_s
    [loaded] = await engine.loaded()
    assert loaded.name == MODEL and loaded.memory_bytes and loaded.memory_bytes > 50_000_000
    assert loaded.context_length == 1024


async def _overlap(engine: Engine, model: str, n: int) -> list[str]:
    """n requests at once: the order in which their first tokens ("first") and their ends ("end") came."""
    import asyncio

    order: list[str] = []

    async def ask(word: str) -> None:
        streamed: list[object] = []

        def on_token(token: object) -> None:
            if not streamed:
                order.append("first")
            streamed.append(token)

        params = SamplingParams(temperature=0, max_tokens=24)
        result = await engine.chat(model, f"Write a long story about a {word}.", params, on_token=on_token)
        assert result.completion_tokens and streamed
        order.append("end")

    await asyncio.gather(*(ask(w) for w in ("cat", "dog", "sun", "tree")[:n]))
    return order


async def test_parallel_slots_serve_concurrent_requests(
    embedded: tuple[Engine, EmbeddedBackend], smollm2_path: Path
) -> None:
    """Two slots answer two requests at the same time: each has streamed its first token before either ends.
    One slot answers them in turn: the second's first token comes after the first has ended."""
    engine, _ = embedded
    assert await _overlap(engine, MODEL, 2) == ["first", "first", "end", "end"], "two slots stream both at once"
    single = EmbeddedBackend({MODEL: smollm2_path}, parallel=1, ctx_per_slot=1024, threads=2)
    async with Engine([single]) as one:
        assert await _overlap(one, MODEL, 2) == ["first", "end", "first", "end"], "one slot answers one at a time"


async def test_child_killed_mid_answer_is_restarted_and_answer_retried(
    embedded: tuple[Engine, EmbeddedBackend],
) -> None:
    engine, backend = embedded
    await engine.chat(MODEL, "warm up", SamplingParams(max_tokens=2))
    srv, _ = await backend.server(MODEL)
    first_pid = srv.proc.pid if srv.proc else 0
    first_log = srv.log_path.read_bytes()
    events: list[object] = []
    params = SamplingParams(temperature=0, max_tokens=200)
    async for event in engine.stream(MODEL, "Write a long story about a lighthouse keeper.", params):
        events.append(event)
        if len(events) == 3:
            os.kill(first_pid, signal.SIGKILL)  # the engine crashes while answering
    assert any(isinstance(e, Restart) for e in events)
    result = events[-1]
    assert isinstance(result, ChatResult) and result.attempts >= 2 and result.text
    new_srv, _ = await backend.server(MODEL)
    assert new_srv.proc and new_srv.proc.pid != first_pid
    kept = new_srv.log_path.with_name(new_srv.log_path.name + ".1").read_bytes()
    assert first_log and kept.startswith(first_log)  # the crashed child's log survives its restart


async def test_missing_and_broken_model_files_are_clear_errors(tmp_path: Path) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + b"\x00" * 64)
    backend = EmbeddedBackend({"gone": tmp_path / "nope.gguf", "broken": broken}, parallel=1)
    async with Engine([backend], retry=RetryPolicy(attempts=1)) as eng:
        with pytest.raises(EngineError) as missing:
            await eng.chat("gone", "hi")
        assert missing.value.kind is ErrorKind.NOT_FOUND and "nope.gguf" in str(missing.value)
        with pytest.raises(EngineError) as bad:
            await eng.chat("broken", "hi")
        assert bad.value.kind is ErrorKind.ENGINE and "broken" in str(bad.value)
        assert await eng.list_models() == []  # unservable files are not listed


SPAWN_AND_DIE = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    from llamune_eval.engines.embedded import EmbeddedServer
    srv = EmbeddedServer("m", Path(sys.argv[1]), parallel=1, ctx_per_slot=512, threads=1)
    srv.start()
    print(srv.proc.pid, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)  # the parent crashes: no atexit, no cleanup
    """
)


def test_child_exits_when_parent_is_killed(smollm2_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", SPAWN_AND_DIE, str(smollm2_path)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == -signal.SIGKILL
    child = int(proc.stdout.strip())
    assert _gone(child), f"engine child {child} outlived its killed parent"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_engine_serve_stops_children_on_ctrl_c_and_term(sig: signal.Signals) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "llamune_eval.cli.main", "engine", "serve", "-m", MODEL, "--parallel", "1",
         "--ctx", "512"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip
    assert proc.stdout is not None
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if "/v1" in line:
            break
    url = next(word for ln in lines for word in ln.split() if word.startswith("http://"))
    import httpx

    assert httpx.get(url.removesuffix("/v1") + "/health", timeout=5).status_code == 200
    children = [
        int(p) for p in subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout.split()
    ]
    assert children
    proc.send_signal(sig)
    proc.wait(30)
    assert all(_gone(c) for c in children)
    assert proc.returncode != 0
