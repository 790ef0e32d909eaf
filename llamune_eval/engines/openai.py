"""OpenAI-compatible servers: llama.cpp server, vLLM, LM Studio and the like.

The flavour is detected once (llama.cpp answers `/props`; vLLM names itself in `/v1/models`) because the
servers differ in which sampling parameters they take; a parameter a server cannot take is reported in
`ChatResult.unsupported_params` (or refused in strict mode), never silently dropped.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Sequence
from typing import Any

from llamune_eval.config import Timeouts
from llamune_eval.engines._http import Clock, classify, get_json, loads, make_client, post_lines, refuse_oversize
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
)

LLAMACPP, VLLM, GENERIC = "llama.cpp", "vllm", "openai"
_FINISH = {"stop": FinishReason.STOP, "length": FinishReason.LENGTH, "eos": FinishReason.STOP}


class OpenAIBackend:
    """One OpenAI-compatible endpoint (base URL without `/v1`)."""

    kind = "openai"

    def __init__(
        self,
        base_url: str,
        *,
        timeouts: Timeouts | None = None,
        api_key: str | None = None,
        max_concurrency: int = 4,
        strict_params: bool = False,
        flavor: str | None = None,
    ) -> None:
        self.endpoint = base_url.rstrip("/").removesuffix("/v1")
        self.max_concurrency = max_concurrency
        self.strict_params = strict_params
        self._timeouts = timeouts or Timeouts()
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else None
        self._client = make_client(
            self.endpoint, self._timeouts, max_connections=max(8, max_concurrency * 2), headers=headers
        )
        self._flavor = flavor
        self._ctx: int | None = None  # per-request context the server can hold, when it tells
        self._flavor_lock = asyncio.Lock()
        self._probed = False
        self._raw: list[dict[str, Any]] | None = None

    async def _detect(self) -> str:
        if not self._probed:
            async with self._flavor_lock:
                if not self._probed:
                    await self._probe()
                    self._probed = True
        return self._flavor or GENERIC

    async def _probe(self) -> None:
        try:
            props = await get_json(self._client, "/props", self.endpoint)
            gen = props.get("default_generation_settings", {})
            self._flavor = self._flavor or LLAMACPP
            self._ctx = int(gen.get("n_ctx") or props.get("n_ctx") or 0) or None
            return
        except EngineError as exc:
            if exc.kind not in (ErrorKind.NOT_FOUND, ErrorKind.CLIENT, ErrorKind.SERVER, ErrorKind.UNAVAILABLE):
                raise
        models = await self._models_raw()
        owned = {str(m.get("owned_by", "")) for m in models}
        self._flavor = self._flavor or (VLLM if "vllm" in owned else GENERIC)
        lens = [int(m["max_model_len"]) for m in models if m.get("max_model_len")]
        self._ctx = min(lens) if lens else None

    async def _models_raw(self, *, fresh: bool = False) -> list[dict[str, Any]]:
        """`/v1/models`, remembered: the flavour probe and `loaded` reuse the last listing."""
        if self._raw is None or fresh:
            data = await get_json(self._client, "/v1/models", self.endpoint)
            self._raw = list(data.get("data") or [])
        return self._raw

    async def health(self) -> Health:
        try:
            resp = await self._client.get("/health")
            if resp.status_code == 404:  # vLLM and LM Studio variants: the model list is the liveness check
                await self._models_raw(fresh=True)
                return Health(endpoint=self.endpoint, engine=self.kind, ok=True, detail="models listed")
            body = resp.text[:200]
            return Health(endpoint=self.endpoint, engine=self.kind, ok=resp.status_code == 200, detail=body)
        except Exception as exc:
            err = classify(exc, self.endpoint)
            return Health(endpoint=self.endpoint, engine=self.kind, ok=False, detail=str(err))

    async def list_models(self) -> list[ModelInfo]:
        out = []
        for m in await self._models_raw(fresh=True):
            meta = m.get("meta") or {}  # llama.cpp adds GGUF facts here
            out.append(
                ModelInfo(
                    name=str(m["id"]),
                    engine=self.kind,
                    endpoint=self.endpoint,
                    size_bytes=meta.get("size"),
                    parameter_count=meta.get("n_params"),
                    quantization=meta.get("ftype"),
                    context_length=m.get("max_model_len") or meta.get("n_ctx_train"),
                )
            )
        return out

    async def loaded(self) -> list[LoadedModel]:
        """A llama.cpp or vLLM server holds its model(s) resident; generic servers do not say."""
        if await self._detect() == GENERIC:
            return []
        return [
            LoadedModel(name=str(m["id"]), engine=self.kind, endpoint=self.endpoint, context_length=self._ctx)
            for m in await self._models_raw()
        ]

    def build_body(
        self, model: str, messages: Sequence[Message], p: SamplingParams
    ) -> tuple[dict[str, Any], dict[str, str]]:
        """The request body for the detected flavour, and the parameters it could not carry."""
        flavor = self._flavor or GENERIC
        body: dict[str, Any] = {
            "model": model,
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "max_tokens": p.max_tokens,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        unsupported: dict[str, str] = {}
        for key in ("temperature", "top_p", "seed"):
            value = getattr(p, key)
            if value is not None:
                body[key] = value
        if p.stop:
            body["stop"] = list(p.stop)
        if p.top_k is not None:
            if flavor == GENERIC:
                unsupported["top_k"] = "not part of the OpenAI API; this server does not declare support"
            else:
                body["top_k"] = p.top_k
        if p.repeat_penalty is not None:
            if flavor == LLAMACPP:
                body["repeat_penalty"] = p.repeat_penalty
            elif flavor == VLLM:
                body["repetition_penalty"] = p.repeat_penalty
            else:
                unsupported["repeat_penalty"] = "not part of the OpenAI API; this server does not declare support"
        if p.num_ctx is not None and (self._ctx is None or p.num_ctx > self._ctx):
            have = f"the server holds {self._ctx} tokens per request" if self._ctx else "the server does not say"
            unsupported["num_ctx"] = f"context is fixed when the server starts; {have}"
        if unsupported and self.strict_params:
            names = ", ".join(sorted(unsupported))
            raise EngineError(ErrorKind.UNSUPPORTED, f"{flavor} server cannot take {names}", endpoint=self.endpoint)
        return body, unsupported

    async def stream_once(
        self,
        model: str,
        messages: Sequence[Message],
        params: SamplingParams,
        clock: Clock,
        json_schema: dict[str, Any] | None = None,
    ) -> AsyncGenerator[Token | ChatResult, None]:
        await self._detect()
        refuse_oversize(messages, self._ctx, self.endpoint)
        body, unsupported = self.build_body(model, messages, params)
        if json_schema is not None:  # OpenAI's structured-output form; llama.cpp and vLLM take it too
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "response", "schema": json_schema},
            }
        parts: list[str] = []
        thoughts: list[str] = []
        finish: str | None = None
        usage: dict[str, Any] = {}
        timings: dict[str, Any] = {}
        done = False
        async with post_lines(self._client, "/v1/chat/completions", body, self.endpoint) as lines:
            async for line in lines:
                if done:
                    continue  # read to the end: a connection whose body was not drained cannot be reused
                if not line.startswith("data:"):
                    if line.startswith("error:") or line.startswith('{"error"'):
                        raise EngineError(ErrorKind.SERVER, line[:300], endpoint=self.endpoint)
                    continue
                data = line[5:].strip()
                if data == "[DONE]":
                    done = True
                    continue
                chunk = loads(data)
                if "error" in chunk:
                    raise EngineError(ErrorKind.SERVER, str(chunk["error"])[:300], endpoint=self.endpoint)
                for choice in chunk.get("choices") or ():
                    delta = choice.get("delta") or {}
                    thought = delta.get("reasoning_content") or delta.get("reasoning")
                    if thought:  # a reasoning model's thinking (llama.cpp, vLLM): kept apart, never streamed
                        clock.token()
                        thoughts.append(str(thought))
                    piece = delta.get("content")
                    if piece:
                        clock.token()
                        parts.append(piece)
                        yield Token(piece)
                    if choice.get("finish_reason"):
                        finish = choice["finish_reason"]
                if chunk.get("usage"):
                    usage = chunk["usage"]
                if chunk.get("timings"):
                    timings = chunk["timings"]
                clock.check(self.endpoint)
        if not done and finish is None:
            raise EngineError(ErrorKind.STREAM_CUT, "stream ended before the answer finished", endpoint=self.endpoint)
        completion = usage.get("completion_tokens")
        rate = timings.get("predicted_per_second") or clock.rate(completion)
        yield ChatResult(
            text="".join(parts),
            thinking="".join(thoughts).strip(),
            finish_reason=_FINISH.get(finish or "", FinishReason.OTHER),
            model=model,
            endpoint=self.endpoint,
            prompt_tokens=usage.get("prompt_tokens"),
            completion_tokens=completion,
            cached_tokens=_cached(timings, usage),
            ttft_s=clock.ttft,
            latency_s=clock.elapsed(),
            tokens_per_s=rate,
            unsupported_params=unsupported,
            engine_timings={
                f"{key.removesuffix('_ms')}_s": timings[key] / 1000
                for key in ("prompt_ms", "predicted_ms")
                if isinstance(timings.get(key), int | float)
            },
        )

    async def aclose(self) -> None:
        await self._client.aclose()


def _cached(timings: dict[str, Any], usage: dict[str, Any]) -> int | None:
    """Prompt tokens served from the server's prompt cache: llama.cpp's `timings.cache_n` (its `prompt_n` are the
    tokens it evaluated), else the OpenAI usage's `prompt_tokens_details.cached_tokens`; None when neither says."""
    details = usage.get("prompt_tokens_details")
    for value in (timings.get("cache_n"), details.get("cached_tokens") if isinstance(details, dict) else None):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None
