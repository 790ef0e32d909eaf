"""Ollama's native API: `/api/tags`, `/api/show`, `/api/ps`, and `/api/chat` streamed as NDJSON.

The native API (not Ollama's OpenAI shim) is used because only it takes `num_ctx`, `think` and `keep_alive` per
request and reports exact token counts and nanosecond durations. What we send, read and retry, and how timing is
measured, is README "Engines → Ollama":
- every request carries `keep_alive`, so a model stays loaded for the run; `prepare` loads it before timing starts
  and pins its `num_ctx` (a change between requests would make Ollama reload the model);
- `message.thinking` is kept apart from the answer; `think` is sent when the model's options say so;
- `load_duration` and the time spent waiting for a free slot (`OLLAMA_NUM_PARALLEL`) are taken out of TTFT and
  latency and recorded apart: the stored figures are the engine's own time;
- a prompt that filled the context (`prompt_eval_count`) is an error, never a silently truncated answer.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections.abc import AsyncGenerator, Sequence
from typing import Any

from llamune_eval.config import Timeouts
from llamune_eval.engines._http import Clock, get_json, loads, make_client, post_lines, refuse_oversize
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
    """The base URL from `OLLAMA_HOST`, read as Ollama reads it: no scheme means http and port 11434; `http://`
    alone means port 80 and `https://` 443; an empty host (`:8080`) is 127.0.0.1; a bare IPv6 address (`::1`) is
    bracketed; a trailing path is kept. A bind-all address (0.0.0.0, ::) means this machine."""
    raw = (host if host is not None else os.environ.get("OLLAMA_HOST", "")).strip()
    scheme, sep, rest = raw.partition("://")
    port = str(DEFAULT_PORT)
    if not sep:
        scheme, rest = "http", raw
    elif scheme == "http":
        port = "80"
    elif scheme == "https":
        port = "443"
    hostport, _, path = rest.partition("/")
    name = hostport
    if hostport.startswith("["):  # [v6] or [v6]:port
        m = re.fullmatch(r"\[([^\]]*)\](?::(\d*))?", hostport)
        if not m:
            raise ValueError(f"OLLAMA_HOST={raw!r} is not host[:port]")
        name, port = m.group(1), m.group(2) or port
    elif hostport.count(":") == 1:  # host:port (an empty host is this machine)
        name, given = hostport.split(":")
        port = given or port
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"OLLAMA_HOST={raw!r}: port {port!r} is not a port")
    if name in ("", "0.0.0.0", "::"):
        name = "127.0.0.1"
    if ":" in name:
        name = f"[{name}]"
    path = path.rstrip("/")
    return f"{scheme}://{name}:{port}" + (f"/{path}" if path else "")


class OllamaBackend:
    """One Ollama host. `think`: per model, the `think` value to send (True, False or a level such as "high");
    `keep_alive`: how long Ollama keeps a model loaded after each request."""

    kind = "ollama"

    def __init__(
        self,
        base_url: str | None = None,
        *,
        timeouts: Timeouts | None = None,
        max_concurrency: int = 4,
        keep_alive: str | None = "30m",
        think: dict[str, bool | str] | None = None,
        num_parallel: int | None = None,
    ) -> None:
        self.endpoint = ollama_url(base_url) if base_url is None or "://" not in base_url else base_url.rstrip("/")
        self.max_concurrency = max_concurrency
        self.keep_alive = keep_alive
        self.think = dict(think or {})
        self.contexts: dict[str, int] = {}  # model -> the num_ctx pinned for the run
        self.num_parallel = num_parallel  # OLLAMA_NUM_PARALLEL as the operator knows it; None: measured in prepare
        self.parallel: dict[str, int] = {}  # model -> requests the server answers at once
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

    async def prepare(self, model: str, num_ctx: int | None) -> float:
        """Load `model` before anything is timed (Ollama's load request: no messages) with the run's context and
        `keep_alive`, and pin that context for the model's requests. Returns Ollama's load time in seconds."""
        if num_ctx:
            self.contexts[model] = num_ctx
        body: dict[str, Any] = {"model": model, "messages": [], "stream": False}
        if num_ctx:
            body["options"] = {"num_ctx": num_ctx}
        if self.keep_alive is not None:
            body["keep_alive"] = self.keep_alive
        data = await get_json(self._client, "/api/chat", self.endpoint, json=body)
        self.parallel[model] = min(self.max_concurrency, self.num_parallel or await self._measure_parallel(model))
        return float(data.get("load_duration") or 0) * NS

    async def _measure_parallel(self, model: str) -> int:
        """How many requests the server answers at once: send `max_concurrency` small ones together and count
        those that did not wait. A request waited when its time outside the engine's own work exceeds the least
        such time (the round trip every request pays) by half an answer's engine time."""
        if self.max_concurrency <= 1:
            return 1
        prompt = "次の数を足してください: " + " + ".join(str(i) for i in range(1, 40))
        body = self.body(model, [Message(role="user", content=prompt)], SamplingParams(temperature=0.0, max_tokens=16))
        body["stream"] = False

        async def one() -> tuple[float, float] | None:
            start = time.perf_counter()
            try:
                data = await get_json(self._client, "/api/chat", self.endpoint, json=body)
            except EngineError:
                return None
            wall = time.perf_counter() - start
            work = sum(float(data.get(k) or 0) * NS for k in ("load_duration", "prompt_eval_duration", "eval_duration"))
            return wall - work, work

        found = [r for r in await asyncio.gather(*(one() for _ in range(self.max_concurrency))) if r is not None]
        if not found:
            return self.max_concurrency
        typical = sorted(work for _, work in found)[len(found) // 2]
        floor = min(waited for waited, _ in found)
        return max(1, sum(1 for waited, _ in found if waited - floor < 0.5 * typical))

    def width(self, model: str) -> int:
        """Requests worth sending this server at once for `model`: more would only wait in its queue."""
        return self.parallel.get(model, self.num_parallel or self.max_concurrency)

    def body(self, model: str, messages: Sequence[Message], params: SamplingParams) -> dict[str, Any]:
        options = self.options(params)
        if model in self.contexts:
            options["num_ctx"] = self.contexts[model]
        body: dict[str, Any] = {
            "model": model,
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "stream": True,
            "options": options,
        }
        if self.keep_alive is not None:
            body["keep_alive"] = self.keep_alive
        if model in self.think:
            body["think"] = self.think[model]
        return body

    async def stream_once(
        self,
        model: str,
        messages: Sequence[Message],
        params: SamplingParams,
        clock: Clock,
        json_schema: dict[str, Any] | None = None,
    ) -> AsyncGenerator[Token | ChatResult, None]:
        refuse_oversize(messages, self.contexts.get(model) or params.num_ctx, self.endpoint)
        body = self.body(model, messages, params)
        if json_schema is not None:
            body["format"] = json_schema
        parts: list[str] = []
        thoughts: list[str] = []
        final: dict[str, Any] | None = None
        async with post_lines(self._client, "/api/chat", body, self.endpoint) as lines:
            async for line in lines:
                if final is not None or not line.strip():
                    continue  # read to the end: a connection whose body was not drained cannot be reused
                obj = loads(line)
                if "error" in obj:  # a failure after the answer began: the engine failed at this request
                    raise EngineError(ErrorKind.SERVER, str(obj["error"])[:300], endpoint=self.endpoint)
                message = obj.get("message") or {}
                if message.get("thinking"):
                    clock.token()
                    thoughts.append(str(message["thinking"]))
                piece = message.get("content")
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
        wall = clock.elapsed()
        seconds = {
            key.removesuffix("_duration"): float(final[key]) * NS
            for key in ("total_duration", "load_duration", "prompt_eval_duration", "eval_duration")
            if isinstance(final.get(key), int | float)
        }
        load = seconds.get("load", 0.0)
        engine_work = load + seconds.get("prompt_eval", 0.0) + seconds.get("eval", 0.0)
        # what Ollama did not spend on this request: waiting for a free slot (and the HTTP round trip)
        queue = max(0.0, wall - engine_work) if "prompt_eval" in seconds else None
        waited = load + (queue or 0.0)
        prompt_tokens, evals = final.get("prompt_eval_count"), final.get("eval_count")
        ctx = self.contexts.get(model) or params.num_ctx
        if ctx and prompt_tokens and prompt_tokens >= ctx - 1:
            why = f"the prompt filled the context ({prompt_tokens} of num_ctx {ctx} tokens): Ollama cut it"
            raise EngineError(ErrorKind.TRUNCATED, why, endpoint=self.endpoint)
        eval_ns = final.get("eval_duration")
        yield ChatResult(
            text="".join(parts),
            thinking="".join(thoughts).strip(),
            finish_reason=_FINISH.get(str(final.get("done_reason", "stop")), FinishReason.OTHER),
            model=model,
            endpoint=self.endpoint,
            prompt_tokens=prompt_tokens,
            completion_tokens=evals,
            ttft_s=None if clock.ttft is None else max(0.0, clock.ttft - waited),
            latency_s=max(0.0, wall - waited),
            tokens_per_s=evals / (eval_ns * NS) if evals and eval_ns else clock.rate(evals),
            queue_s=queue,
            load_s=load if "load" in seconds else None,
            engine_timings={f"{key}_s": value for key, value in seconds.items()},
        )

    async def aclose(self) -> None:
        await self._client.aclose()
