"""A test server that speaks Ollama's documented API (docs/api.md) with a real llama.cpp engine behind it.

No Ollama can be installed here, so this server reproduces Ollama's wire protocol: `/api/version`, `/api/tags`,
`/api/show`, `/api/ps`, and `/api/chat` as an NDJSON stream whose final object carries `done_reason` and
nanosecond durations; errors as `{"error": "..."}`. Generation is real: it forwards to llama.cpp's server.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
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
    options_seen: list[dict[str, Any]] = field(default_factory=list)

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
        self._client: httpx.AsyncClient | None = None

    @property
    def url(self) -> str:
        return self.server.url

    async def version(self, req: Request, reply: Reply) -> None:
        await reply.send(200, {"version": "0.9.0"})

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
                "details": m.details(), "capabilities": ["completion"],
                "model_info": {"general.architecture": arch, "general.parameter_count": info.parameter_count,
                               f"{arch}.context_length": info.context_length},
            },
        )  # fmt: skip

    async def ps(self, req: Request, reply: Reply) -> None:
        running = [
            {"name": m.name, "model": m.name, "size": m.path.stat().st_size + 2 * m.ctx * 1024, "digest": m.digest,
             "details": m.details(), "size_vram": 0, "context_length": m.ctx,
             "expires_at": (datetime.now(UTC) + timedelta(minutes=5)).isoformat()}
            for m in self.models.values() if m.loaded_at is not None
        ]  # fmt: skip
        await reply.send(200, {"models": running})

    async def chat(self, req: Request, reply: Reply) -> None:
        body = req.json()
        m = self._model(req)
        if m is None:
            return await self._not_found(req, reply)
        if not isinstance(body.get("messages"), list):
            return await reply.send(400, {"error": "messages must be a list"})
        options = dict(body.get("options") or {})
        m.options_seen.append(options)
        upstream = {"messages": body["messages"], "stream": True, "max_tokens": options.get("num_predict", 128),
                    "stream_options": {"include_usage": True}}  # fmt: skip
        fmt = body.get("format")
        if isinstance(fmt, dict):  # Ollama's structured outputs: a JSON schema
            upstream["response_format"] = {"type": "json_schema", "json_schema": {"name": "r", "schema": fmt}}
        elif fmt == "json":
            upstream["response_format"] = {"type": "json_object"}
        for theirs, ours in OPTION_TO_OPENAI.items():
            if theirs in options and theirs != "num_predict":
                upstream[ours] = options[theirs]
        start = time.perf_counter_ns()
        load_ns = 0
        if m.loaded_at is None:
            m.loaded_at = time.time()
            load_ns = 1_000_000
        self._client = self._client or httpx.AsyncClient(timeout=120)
        stream = body.get("stream", True)
        if stream:
            await reply.start()
        parts: list[str] = []
        finish, usage, timings = "stop", {}, {}
        async with self._client.stream("POST", f"{m.upstream}/v1/chat/completions", json=upstream) as resp:
            async for line in resp.aiter_lines():
                if not line.startswith("data: ") or line == "data: [DONE]":
                    continue
                chunk = json.loads(line[6:])
                for choice in chunk.get("choices") or ():
                    piece = (choice.get("delta") or {}).get("content")
                    if piece:
                        parts.append(piece)
                        if stream:
                            msg = {"role": "assistant", "content": piece}
                            obj = {"model": m.name, "created_at": _now(), "message": msg, "done": False}
                            await reply.chunk(json.dumps(obj) + "\n")
                    finish = choice.get("finish_reason") or finish
                usage = chunk.get("usage") or usage
                timings = chunk.get("timings") or timings
        final = {
            "model": m.name, "created_at": _now(),
            "message": {"role": "assistant", "content": "" if stream else "".join(parts)},
            "done": True, "done_reason": "length" if finish == "length" else "stop",
            "total_duration": time.perf_counter_ns() - start + load_ns, "load_duration": load_ns,
            "prompt_eval_count": usage.get("prompt_tokens", 0),
            "prompt_eval_duration": int(timings.get("prompt_ms", 0) * 1e6),
            "eval_count": usage.get("completion_tokens", 0),
            "eval_duration": int(timings.get("predicted_ms", 0) * 1e6),
        }  # fmt: skip
        if stream:
            await reply.chunk(json.dumps(final) + "\n")
            await reply.end()
        else:
            await reply.send(200, final)

    def start(self) -> OllamaStub:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()
