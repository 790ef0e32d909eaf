"""Ollama's native API: `/api/tags`, `/api/show`, `/api/ps`, and `/api/chat` streamed as NDJSON.

The native API (not Ollama's OpenAI shim) is used because only it takes `num_ctx` and `repeat_penalty`
per request and reports exact token counts and nanosecond durations.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import AsyncGenerator, Sequence
from typing import Any

from llamune_eval.config import Timeouts
from llamune_eval.engines._http import Clock, get_json, loads, make_client, post_lines
from llamune_eval.types import (
    ChatResult,
    EngineError,
    ErrorKind,
    FinishReason,
    Health,
    LoadedModel,
    Message,
    ModelInfo,
    SamplingParams,
    Token,
    parse_parameter_size,
)

DEFAULT_PORT = 11434
NS = 1e-9
_FINISH = {"stop": FinishReason.STOP, "length": FinishReason.LENGTH}
# LLMParameters name -> Ollama option name
OPTION_NAMES = {
    "temperature": "temperature",
    "top_p": "top_p",
    "top_k": "top_k",
    "max_tokens": "num_predict",
    "repeat_penalty": "repeat_penalty",
    "num_ctx": "num_ctx",
    "seed": "seed",
}


def ollama_url(host: str | None = None) -> str:
    """The base URL from `OLLAMA_HOST` forms: `host`, `host:port`, `scheme://host[:port]`, `0.0.0.0`."""
    raw = (host if host is not None else os.environ.get("OLLAMA_HOST", "")).strip() or "127.0.0.1"
    scheme = "http"
    if "://" in raw:
        scheme, raw = raw.split("://", 1)
    raw = raw.rstrip("/")
    hostport, _, path = raw.partition("/")
    m = re.fullmatch(r"(\[[^\]]+\]|[^:]+)(?::(\d+))?", hostport)
    if not m:
        raise ValueError(f"OLLAMA_HOST={raw!r} is not host[:port]")
    name, port = m.group(1), m.group(2)
    if name in ("0.0.0.0", "[::]"):  # a bind-all address: the server is on this machine
        name = "127.0.0.1"
    if port is None:
        port = "443" if scheme == "https" else str(DEFAULT_PORT)
    return f"{scheme}://{name}:{port}" + (f"/{path}" if path else "")


class OllamaBackend:
    """One Ollama host."""

    kind = "ollama"

    def __init__(
        self, base_url: str | None = None, *, timeouts: Timeouts | None = None, max_concurrency: int = 4
    ) -> None:
        self.endpoint = ollama_url(base_url) if base_url is None or "://" not in base_url else base_url.rstrip("/")
        self.max_concurrency = max_concurrency
        self._client = make_client(self.endpoint, timeouts or Timeouts(), max_connections=max(8, max_concurrency * 2))

    async def health(self) -> Health:
        try:
            data = await get_json(self._client, "/api/version", self.endpoint)
            return Health(endpoint=self.endpoint, engine=self.kind, ok=True, version=data.get("version"))
        except EngineError as exc:
            return Health(endpoint=self.endpoint, engine=self.kind, ok=False, detail=str(exc))

    async def _show(self, name: str) -> dict[str, Any]:
        try:
            data = await get_json(self._client, "/api/show", self.endpoint, json={"model": name})
            return data if isinstance(data, dict) else {}
        except EngineError:
            return {}  # a model that cannot be shown is still listed, with fewer facts

    async def list_models(self) -> list[ModelInfo]:
        data = await get_json(self._client, "/api/tags", self.endpoint)
        tags = list(data.get("models") or [])
        shows = await asyncio.gather(*(self._show(str(t.get("name") or t.get("model"))) for t in tags))
        out = []
        for tag, show in zip(tags, shows, strict=True):
            details = tag.get("details") or show.get("details") or {}
            info = show.get("model_info") or {}
            arch = info.get("general.architecture") or details.get("family")
            out.append(
                ModelInfo(
                    name=str(tag.get("name") or tag.get("model")),
                    engine=self.kind,
                    endpoint=self.endpoint,
                    size_bytes=tag.get("size"),
                    family=details.get("family") or arch,
                    parameter_count=info.get("general.parameter_count")
                    or parse_parameter_size(details.get("parameter_size")),
                    parameter_size=details.get("parameter_size"),
                    quantization=details.get("quantization_level"),
                    context_length=info.get(f"{arch}.context_length") if arch else None,
                    digest=tag.get("digest"),
                )
            )
        return out

    async def loaded(self) -> list[LoadedModel]:
        data = await get_json(self._client, "/api/ps", self.endpoint)
        return [
            LoadedModel(
                name=str(m.get("name") or m.get("model")),
                engine=self.kind,
                endpoint=self.endpoint,
                memory_bytes=m.get("size"),
                vram_bytes=m.get("size_vram"),
                context_length=m.get("context_length"),
                expires_at=m.get("expires_at"),
            )
            for m in data.get("models") or []
        ]

    @staticmethod
    def options(p: SamplingParams) -> dict[str, Any]:
        opts: dict[str, Any] = {}
        for ours, theirs in OPTION_NAMES.items():
            value = getattr(p, ours)
            if value is not None:
                opts[theirs] = value
        if p.stop:
            opts["stop"] = list(p.stop)
        return opts

    async def stream_once(
        self,
        model: str,
        messages: Sequence[Message],
        params: SamplingParams,
        clock: Clock,
        json_schema: dict[str, Any] | None = None,
    ) -> AsyncGenerator[Token | ChatResult, None]:
        body = {
            "model": model,
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "stream": True,
            "options": self.options(params),
        }
        if json_schema is not None:
            body["format"] = json_schema
        parts: list[str] = []
        final: dict[str, Any] | None = None
        async with post_lines(self._client, "/api/chat", body, self.endpoint) as lines:
            async for line in lines:
                if final is not None or not line.strip():
                    continue  # read to the end: a connection whose body was not drained cannot be reused
                obj = loads(line)
                if "error" in obj:  # Ollama reports failures mid-stream as an error object
                    raise EngineError(ErrorKind.SERVER, str(obj["error"])[:300], endpoint=self.endpoint)
                piece = (obj.get("message") or {}).get("content")
                if piece:
                    clock.token()
                    parts.append(piece)
                    yield Token(piece)
                if obj.get("done"):
                    final = obj
                    continue
                clock.check(self.endpoint)
        if final is None:
            raise EngineError(ErrorKind.STREAM_CUT, "stream ended before the final object", endpoint=self.endpoint)
        evals, eval_ns = final.get("eval_count"), final.get("eval_duration")
        yield ChatResult(
            text="".join(parts),
            finish_reason=_FINISH.get(str(final.get("done_reason", "stop")), FinishReason.OTHER),
            model=model,
            endpoint=self.endpoint,
            prompt_tokens=final.get("prompt_eval_count"),
            completion_tokens=evals,
            ttft_s=clock.ttft,
            latency_s=clock.elapsed(),
            tokens_per_s=evals / (eval_ns * NS) if evals and eval_ns else clock.rate(evals),
            engine_timings={
                key.removesuffix("_duration") + "_s": final[key] * NS
                for key in ("total_duration", "load_duration", "prompt_eval_duration", "eval_duration")
                if isinstance(final.get(key), int | float)
            },
        )

    async def aclose(self) -> None:
        await self._client.aclose()
