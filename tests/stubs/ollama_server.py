"""A test server that speaks Ollama's documented API (docs/api.md) with a real llama.cpp engine behind it.

No Ollama can be installed here, so this server reproduces Ollama's wire protocol, and the official `ollama`
Python client is run against it (tests/engines/test_ollama_conformance.py): `/api/version`, `/api/tags`,
`/api/show`, `/api/ps`, and `/api/chat` streamed as NDJSON or not. As Ollama does, it:
- queues requests beyond `num_parallel` per model (OLLAMA_NUM_PARALLEL) and counts the wait in `total_duration`
  only; loads a model on first use (`load_duration`) and unloads it after `keep_alive` (0: at once);
- answers an empty `messages` with `done_reason` "load" (or "unload" with `keep_alive` 0);
- lets a thinking model (`thinks=True`) think first, in `message.thinking`, unless `think` is false; the thinking
  spends `num_predict` like the answer does;
- omits zero-valued timing fields; leaves `num_predict` unlimited when not given; reports upstream failures as
  `{"error": ...}` (an HTTP error before the answer began, an error line after);
- opens a fresh connection to llama.cpp per request (a pooled one llama.cpp had closed used to cut answers).
Generation is real: it forwards to llama.cpp's server.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from llamune_eval.engines.gguf import read_info
from tests.stubs.httpserver import Reply, Request, StubServer

OPTION_TO_OPENAI = {"num_predict": "max_tokens", "temperature": "temperature", "top_p": "top_p", "top_k": "top_k",
                    "repeat_penalty": "repeat_penalty", "seed": "seed", "stop": "stop"}  # fmt: skip


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _size_label(n: int) -> str:
    return f"{n / 1e9:.1f}B" if n >= 1e9 else f"{round(n / 1e6)}M"


@dataclass
class OllamaModel:
    name: str
    path: Path
    upstream: str  # llama.cpp server base URL
    ctx: int
    digest: str = ""
    loaded_at: float | None = None
    expires_at: float | None = None
    options_seen: list[dict[str, Any]] = field(default_factory=list)
    bodies: list[dict[str, Any]] = field(default_factory=list)
    thinks: bool = False  # a reasoning model: thinks before answering unless `think` is false
    thought: str = "まず問題を整理する。選択肢を一つずつ確かめる。"
    load_s: float = 0.05  # how long a load takes
    num_parallel: int = 4  # OLLAMA_NUM_PARALLEL
    _slots: asyncio.Semaphore | None = None

    def slots(self) -> asyncio.Semaphore:
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.num_parallel)
        return self._slots

    @property
    def loaded(self) -> bool:
        return self.loaded_at is not None and (self.expires_at is None or self.expires_at > time.time())

    def details(self) -> dict[str, Any]:
        info = read_info(self.path)
        return {
            "parent_model": "", "format": "gguf", "family": info.architecture,
            "families": [info.architecture], "parameter_size": _size_label(info.parameter_count),
            "quantization_level": info.quantization,
        }  # fmt: skip


class OllamaStub:
    def __init__(self, models: list[OllamaModel]) -> None:
        self.models = {m.name: m for m in models}
        # per answered chat: the prompt, the durations reported, and the wait for a slot (`queued`, `queued_s`)
        self.reports: list[dict[str, Any]] = []
        for m in models:
            m.digest = m.digest or hashlib.sha256(m.path.read_bytes()[: 1 << 20]).hexdigest()
        self.server = StubServer(
            {
                ("GET", "/api/version"): self.version,
                ("GET", "/api/tags"): self.tags,
                ("POST", "/api/show"): self.show,
                ("GET", "/api/ps"): self.ps,
                ("POST", "/api/chat"): self.chat,
            }
        )

    @property
    def url(self) -> str:
        return self.server.url

    async def version(self, req: Request, reply: Reply) -> None:
        await reply.send(200, {"version": "0.12.6"})

    async def tags(self, req: Request, reply: Reply) -> None:
        models = [
            {"name": m.name, "model": m.name, "modified_at": _now(), "size": m.path.stat().st_size,
             "digest": m.digest, "details": m.details()}
            for m in self.models.values()
        ]  # fmt: skip
        await reply.send(200, {"models": models})

    def _model(self, req: Request) -> OllamaModel | None:
        body = req.json() or {}
        return self.models.get(str(body.get("model") or body.get("name")))

    async def _not_found(self, req: Request, reply: Reply) -> None:
        name = (req.json() or {}).get("model")
        await reply.send(404, {"error": f'model "{name}" not found, try pulling it first'})

    async def show(self, req: Request, reply: Reply) -> None:
        m = self._model(req)
        if m is None:
            return await self._not_found(req, reply)
        info = read_info(m.path)
        arch = info.architecture
        await reply.send(
            200,
            {
                "modelfile": f"FROM {m.path}", "parameters": "", "template": "{{ .Prompt }}",
                "details": m.details(), "capabilities": ["completion", *(["thinking"] if m.thinks else [])],
                "model_info": {"general.architecture": arch, "general.parameter_count": info.parameter_count,
                               f"{arch}.context_length": info.context_length},
            },
        )  # fmt: skip

    @staticmethod
    def resident(m: OllamaModel) -> int:
        """What Ollama reports as `size`: the weights plus the KV cache of the loaded context (f16 keys and values
        of every layer), as its memory estimate computes them from the GGUF header."""
        info = read_info(m.path)
        heads, k, v = info.head_count_kv or 0, info.key_length or 0, info.value_length or 0
        return info.size_bytes + (info.block_count or 0) * m.ctx * heads * (k + v) * 2

    async def ps(self, req: Request, reply: Reply) -> None:
        running = [
            {"name": m.name, "model": m.name, "size": self.resident(m), "digest": m.digest,
             "details": m.details(), "size_vram": 0, "context_length": m.ctx,
             "expires_at": datetime.fromtimestamp(m.expires_at or time.time() + 300, UTC).isoformat()}
            for m in self.models.values() if m.loaded
        ]  # fmt: skip
        await reply.send(200, {"models": running})

    @staticmethod
    def _keep_alive(value: Any) -> float:
        """Seconds, from Ollama's keep_alive forms: a number of seconds, or "30s", "5m", "1h"; -1 is forever."""
        if value is None:
            return 300.0
        if isinstance(value, int | float):
            return float("inf") if value < 0 else float(value)
        text = str(value).strip()
        units = {"ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
        for unit in ("ms", "s", "m", "h"):
            if text.endswith(unit) and text[: -len(unit)].replace(".", "", 1).lstrip("-").isdigit():
                number = float(text[: -len(unit)])
                return float("inf") if number < 0 else number * units[unit]
        return float("inf") if text.startswith("-") else float(text)

    async def _load(self, m: OllamaModel) -> int:
        """Load the model if it is not resident; the nanoseconds it took."""
        if m.loaded:
            return 0
        start = time.perf_counter_ns()
        await asyncio.sleep(m.load_s)
        m.loaded_at = time.time()
        return time.perf_counter_ns() - start

    async def chat(self, req: Request, reply: Reply) -> None:
        start = time.perf_counter_ns()
        body = req.json() or {}
        if not body.get("model"):
            return await reply.send(400, {"error": "model is required"})
        m = self._model(req)
        if m is None:
            return await self._not_found(req, reply)
        if not isinstance(body.get("messages", []), list):
            return await reply.send(400, {"error": "messages must be a list"})
        m.bodies.append(body)
        keep = self._keep_alive(body.get("keep_alive"))
        stream = body.get("stream", True)
        ctx = (body.get("options") or {}).get("num_ctx")
        if isinstance(ctx, int) and ctx > 0 and ctx != m.ctx:  # Ollama reloads a model for another context
            m.ctx, m.loaded_at = ctx, None
        if not body.get("messages"):  # load (or unload) only
            load_ns = await self._load(m) if keep > 0 else 0
            if keep == 0:
                m.loaded_at = None
            else:
                m.expires_at = time.time() + keep
            final = {"model": m.name, "created_at": _now(), "message": {"role": "assistant", "content": ""},
                     "done_reason": "load" if keep > 0 else "unload", "done": True}  # fmt: skip
            if load_ns:
                final["load_duration"] = load_ns
            return await reply.send(200, final)
        options = dict(body.get("options") or {})
        m.options_seen.append(options)
        queued, asked = m.slots().locked(), time.perf_counter_ns()
        async with m.slots():  # Ollama's queue: beyond num_parallel, a request waits here
            wait = {"queued": queued, "queued_s": (time.perf_counter_ns() - asked) * 1e-9}
            load_ns = await self._load(m)
            await self._generate(m, body, options, stream, reply, start, load_ns, wait)
        if keep == 0:
            m.loaded_at = None
        else:
            m.expires_at = time.time() + keep

    def _upstream(self, body: dict[str, Any], options: dict[str, Any], budget: int | None) -> dict[str, Any]:
        upstream: dict[str, Any] = {"messages": body["messages"], "stream": True,
                                    "stream_options": {"include_usage": True}}  # fmt: skip
        if budget is not None:
            upstream["max_tokens"] = budget  # num_predict unset (or -1): unlimited, as in Ollama
        fmt = body.get("format")
        if isinstance(fmt, dict):  # Ollama's structured outputs: a JSON schema
            upstream["response_format"] = {"type": "json_schema", "json_schema": {"name": "r", "schema": fmt}}
        elif fmt == "json":
            upstream["response_format"] = {"type": "json_object"}
        for theirs, ours in OPTION_TO_OPENAI.items():
            if theirs in options and theirs != "num_predict":
                upstream[ours] = options[theirs]
        return upstream

    async def _generate(self, m: OllamaModel, body: dict[str, Any], options: dict[str, Any], stream: bool,
                        reply: Reply, start: int, load_ns: int, wait: dict[str, Any]) -> None:  # fmt: skip
        predict = options.get("num_predict", -1)
        budget = None if predict is None or predict < 0 else int(predict)
        thinking = m.thinks and body.get("think") is not False
        thought = list(m.thought) if thinking else []  # one token per character
        if budget is not None and thinking:
            thought = thought[:budget]
            budget -= len(thought)
        started = False

        async def emit(message: dict[str, Any]) -> None:
            nonlocal started
            if stream:
                if not started:
                    await reply.start()
                    started = True
                obj = {"model": m.name, "created_at": _now(), "message": message, "done": False}
                await reply.chunk(json.dumps(obj, ensure_ascii=False) + "\n")

        for piece in thought:
            await emit({"role": "assistant", "content": "", "thinking": piece})
        parts: list[str] = []
        finish, usage, timings = "length" if budget == 0 else "stop", {}, {}
        if budget != 0:
            try:
                async with httpx.AsyncClient(timeout=120, limits=httpx.Limits(max_keepalive_connections=0)) as client, \
                        client.stream("POST", f"{m.upstream}/v1/chat/completions",
                                      json=self._upstream(body, options, budget)) as resp:  # fmt: skip
                    if resp.status_code != 200:
                        text = (await resp.aread()).decode("utf-8", "replace")[:300]
                        if not started:
                            return await reply.send(500, {"error": text or f"upstream {resp.status_code}"})
                        raise httpx.HTTPError(text)
                    async for line in resp.aiter_lines():
                        if not line.startswith("data: ") or line == "data: [DONE]":
                            continue
                        chunk = json.loads(line[6:])
                        for choice in chunk.get("choices") or ():
                            piece = (choice.get("delta") or {}).get("content")
                            if piece:
                                parts.append(piece)
                                await emit({"role": "assistant", "content": piece})
                            finish = choice.get("finish_reason") or finish
                        usage = chunk.get("usage") or usage
                        timings = chunk.get("timings") or timings
            except httpx.HTTPError as exc:  # the engine failed after the answer began: an error line, as Ollama
                if not started:
                    return await reply.send(500, {"error": f"llama runner process has terminated: {exc}"})
                await reply.chunk(json.dumps({"error": f"llama runner process has terminated: {exc}"}) + "\n")
                return await reply.end()
        metrics = {  # Ollama omits zero values
            "total_duration": time.perf_counter_ns() - start, "load_duration": load_ns,
            "prompt_eval_count": usage.get("prompt_tokens", 0),
            "prompt_eval_duration": int(timings.get("prompt_ms", 0) * 1e6),
            "eval_count": usage.get("completion_tokens", 0) + len(thought),
            "eval_duration": int(timings.get("predicted_ms", 0) * 1e6) + len(thought) * 1_000_000,
        }  # fmt: skip
        last = next((str(x.get("content", "")) for x in reversed(body["messages"]) if x.get("role") == "user"), "")
        self.reports.append({"prompt": last, "prompt_eval_s": metrics["prompt_eval_duration"] * 1e-9,
                             "eval_s": metrics["eval_duration"] * 1e-9, "eval_count": metrics["eval_count"],
                             "total_s": metrics["total_duration"] * 1e-9, **wait})  # fmt: skip
        message: dict[str, Any] = {"role": "assistant", "content": "" if stream else "".join(parts)}
        if thought and not stream:
            message["thinking"] = "".join(thought)
        final = {"model": m.name, "created_at": _now(), "message": message, "done": True,
                 "done_reason": "length" if finish == "length" else "stop",
                 **{k: v for k, v in metrics.items() if v}}  # fmt: skip
        if stream:
            if not started:
                await reply.start()
            await reply.chunk(json.dumps(final, ensure_ascii=False) + "\n")
            await reply.end()
        else:
            await reply.send(200, final)

    def start(self) -> OllamaStub:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()

    def __enter__(self) -> OllamaStub:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
