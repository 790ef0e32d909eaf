"""A model made ready for measuring, one configuration's context at a time: timed requests and its memory.

The embedded engine starts the model alone in a child with one slot of the configuration's `num_ctx` (as a chat
user's machine runs it) and reads that child's peak resident memory; Ollama loads it with the pinned `num_ctx` and
says what it holds in `/api/ps`; an OpenAI-compatible server cannot be asked, so its memory is left to the
estimates (analysis/memory.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

from llamune_eval.engines.embedded import EmbeddedBackend
from llamune_eval.engines.engine import Engine
from llamune_eval.engines.ollama import OllamaBackend
from llamune_eval.types import ChatResult, Footprint, Message, SamplingParams


@dataclass
class ProbeSession:
    """One model at one context on the engine that serves it."""

    engine: Engine  # the engine the requests go to (for the embedded engine: the measuring child's own)
    model: str
    num_ctx: int | None
    kind: str
    _embedded: EmbeddedBackend | None = None
    _ollama: OllamaBackend | None = None

    async def ask(
        self, messages: Sequence[Message], params: SamplingParams, on_token: Callable[[str], object] | None = None
    ) -> ChatResult:
        return await self.engine.chat(self.model, messages, params, on_token=on_token)

    async def footprint(self) -> Footprint | None:
        """The memory the engine holds for the model now, or None when it cannot be read from outside."""
        ctx = self.num_ctx or 0
        if self._embedded is not None:
            peak = self._embedded.peak_bytes(self.model)
            if peak is None:
                return None
            return Footprint(
                model=self.model, num_ctx=ctx or self._embedded.ctx_per_slot, slots=1, bytes=peak,
                source="measured-rss", detail="llama.cpp の子プロセスの最大常駐メモリ (VmHWM)",
            )  # fmt: skip
        if self._ollama is not None:
            for m in await self._ollama.loaded():
                if m.name in (self.model, f"{self.model}:latest") and m.memory_bytes:
                    return Footprint(
                        model=self.model, num_ctx=m.context_length or ctx, slots=1, bytes=m.memory_bytes,
                        vram_bytes=m.vram_bytes, source="ollama-ps", detail="Ollama /api/ps の size と size_vram",
                    )  # fmt: skip
        return None


async def measurable(engine: Engine, model: str) -> bool:
    """Whether the engine serving `model` can say how much memory it holds (embedded, Ollama)."""
    pool = await engine.pool(model)
    return isinstance(pool.slots[0].backend, EmbeddedBackend | OllamaBackend)


@asynccontextmanager
async def probe_session(engine: Engine, model: str, num_ctx: int | None) -> AsyncIterator[ProbeSession]:
    """`model` ready at `num_ctx` for timed requests, loaded before anything is timed."""
    pool = await engine.pool(model)
    backend = pool.slots[0].backend
    if isinstance(backend, EmbeddedBackend):
        own = backend.isolated(model, num_ctx)
        async with Engine([own], retry=engine.retry, timeouts=engine.timeouts) as alone:
            await own.server(model)  # started (and its load paid) before the first timed request
            yield ProbeSession(alone, model, num_ctx, backend.kind, _embedded=own)
        return
    await engine.prepare(model, num_ctx)
    ollama = backend if isinstance(backend, OllamaBackend) else None
    yield ProbeSession(engine, model, num_ctx, backend.kind, _ollama=ollama)
