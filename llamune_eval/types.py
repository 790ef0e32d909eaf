"""The whole engine contract in one place: messages, sampling parameters, results, model facts, errors.

Every caller (runner, judge, chat runtime) speaks these types; every engine backend produces them.
Field names follow the specification's LLMParameters so settings files map onto them without renaming.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Role = Literal["system", "user", "assistant"]
QUARTER_PATTERN = r"^\d{4}-Q[1-4]$"  # a quarter, 2027-Q1: the config, the settings files and the CLI check this one


class Message(BaseModel):
    """One chat turn."""

    model_config = ConfigDict(frozen=True)
    role: Role
    content: str


class SamplingParams(BaseModel):
    """Sampling parameters in the specification's names; None means 'engine default'.

    `max_tokens` defaults to a finite value because llama.cpp's default is unlimited generation.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    top_p: float | None = Field(default=None, ge=0.0, le=1.0)
    top_k: int | None = Field(default=None, ge=0)
    max_tokens: int = Field(default=512, ge=1)
    repeat_penalty: float | None = Field(default=None, ge=0.0)
    num_ctx: int | None = Field(default=None, ge=1)
    seed: int | None = None
    stop: tuple[str, ...] = ()


class FinishReason(StrEnum):
    STOP = "stop"
    LENGTH = "length"
    OTHER = "other"
    STOPPED = "stopped"  # the chat's user stopped the answer (Ctrl-C): what had streamed is the answer


class ChatResult(BaseModel):
    """What one completed chat request produced, with its timings. `text` is the answer; a reasoning model's
    thinking (`reasoning_content`, Ollama's `thinking`, or `<think>` blocks in the text) is kept apart in
    `thinking` and never scored."""

    text: str
    thinking: str = ""
    finish_reason: FinishReason
    model: str
    endpoint: str
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    # of prompt_tokens, those the engine took from its prompt cache instead of evaluating them (llama.cpp's
    # timings.cache_n, else the OpenAI usage's cached_tokens; None: the engine does not say)
    cached_tokens: int | None = None
    ttft_s: float | None = None
    latency_s: float = 0.0
    tokens_per_s: float | None = None
    # Ollama: time the request waited for a free slot, and for the model to load; both are taken out of ttft_s
    # and latency_s, which are engine time (None: the engine does not say)
    queue_s: float | None = None
    load_s: float | None = None
    attempts: int = 1
    # Durations the engine measured itself, in seconds (Ollama's nanoseconds and llama.cpp's ms converted).
    engine_timings: dict[str, float] = Field(default_factory=dict)
    # Parameters the server could not honour, with the reason: reported, never silently dropped.
    unsupported_params: dict[str, str] = Field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Token:
    """A streamed piece of the answer (a plain dataclass: one is made per token, so it must be cheap)."""

    text: str


@dataclass(frozen=True, slots=True)
class Restart:
    """The stream failed after emitting text and is being retried: discard what was shown so far."""

    attempt: int
    error: str


StreamEvent = Token | Restart | ChatResult


class ModelInfo(BaseModel):
    """A model an engine can serve. Sizes in bytes; unknown facts stay None."""

    name: str
    engine: str
    endpoint: str
    size_bytes: int | None = None
    family: str | None = None
    parameter_count: int | None = None
    parameter_size: str | None = None
    quantization: str | None = None
    context_length: int | None = None
    digest: str | None = None


_THINK_BLOCK = re.compile(r"<think>(.*?)(?:</think>|\Z)", re.DOTALL)


def split_thinking(text: str) -> tuple[str, str]:
    """(thinking, answer) of a reasoning model's text: `<think>` blocks (an unclosed one runs to the end) and, when
    the chat template opened the block itself, everything before a lone `</think>`."""
    if "think>" not in text:
        return "", text
    head, closed, tail = text.partition("</think>")
    if closed and "<think>" not in head:
        return head.strip(), _split_rest(tail)[1]
    return _split_rest(text)


def _split_rest(text: str) -> tuple[str, str]:
    thoughts = [m.group(1).strip() for m in _THINK_BLOCK.finditer(text)]
    return "\n\n".join(t for t in thoughts if t), _THINK_BLOCK.sub("", text).strip()


def parse_parameter_size(text: str | None) -> int | None:
    """'7.6B' -> 7_600_000_000: a model's rounded parameter count as Ollama's /api/tags names it."""
    if not text:
        return None
    m = re.fullmatch(r"\s*([\d.]+)\s*([KMBT]?)\s*", text.upper())
    if not m:
        return None
    scale = {"": 1, "K": 1e3, "M": 1e6, "B": 1e9, "T": 1e12}[m.group(2)]
    return int(float(m.group(1)) * scale)


class LoadedModel(BaseModel):
    """A model resident in an engine's memory (Ollama /api/ps, embedded child RSS)."""

    name: str
    engine: str
    endpoint: str
    memory_bytes: int | None = None
    vram_bytes: int | None = None
    context_length: int | None = None
    expires_at: str | None = None


MemorySource = Literal["measured-rss", "ollama-ps", "gguf-estimate", "size-estimate"]


class Footprint(BaseModel):
    """A model's memory at one context, with where the figure came from: measured by the engine that ran it
    (`measured-rss`: the embedded child's peak resident memory; `ollama-ps`: Ollama's `/api/ps`), else estimated
    (`gguf-estimate`: weights and KV cache from the file's header; `size-estimate`: the size times a factor)."""

    model: str
    num_ctx: int
    slots: int = 1
    bytes: int
    vram_bytes: int | None = None
    source: MemorySource
    detail: str = ""


class Timing(BaseModel):
    """One timed request of the measure stage (`purpose` speed: a configuration alone, prompt cache defeated) or
    of the contention check (`purpose` contention: the tier's main model with `step` cross-check models generating
    beside it; step 0 is alone). `set_id` names the contention check's set of models."""

    quarter: str
    purpose: Literal["speed", "contention"]
    set_id: str = ""
    step: int = 0
    model: str
    preset: str
    num_ctx: int | None = None
    probe: int
    ttft_s: float | None = None
    latency_s: float | None = None
    tokens_per_s: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    ok: bool = True
    error: str | None = None
    cached_tokens: int | None = None  # of prompt_tokens, those served from the engine's prompt cache (ChatResult)


class Health(BaseModel):
    endpoint: str
    engine: str
    ok: bool
    detail: str = ""
    version: str | None = None


class ErrorKind(StrEnum):
    CONNECT = "connect"
    TIMEOUT = "timeout"
    SERVER = "server"  # 500, or an error reported mid-answer: the engine failed at the request (out of memory, ...)
    UNAVAILABLE = "unavailable"  # 502, 503, 504, 429: busy or restarting, worth another try
    CLIENT = "client"  # 4xx other than 404
    NOT_FOUND = "not_found"  # 404 or unknown model
    STREAM_CUT = "stream_cut"  # connection ended before the final chunk
    PROTOCOL = "protocol"  # malformed line or unexpected payload
    EGRESS = "egress"  # destination refused by the egress guard
    UNSUPPORTED = "unsupported"  # a parameter the server cannot take, in strict mode
    ENGINE = "engine"  # the embedded engine failed to start or died
    TRUNCATED = "truncated"  # the prompt filled the model's context: the engine cut it, so the answer is no evidence

    @property
    def retryable(self) -> bool:
        return self in _RETRYABLE


_RETRYABLE = {  # transport faults and a busy server; an engine that failed at the request fails again
    ErrorKind.CONNECT,
    ErrorKind.TIMEOUT,
    ErrorKind.UNAVAILABLE,
    ErrorKind.STREAM_CUT,
    ErrorKind.PROTOCOL,
}


class InputError(ValueError):
    """Bad input from the operator (a suite file, a preset, the store): shown as one line, never a traceback."""


class EngineError(Exception):
    """Every engine failure surfaces as this, with a kind callers can branch on and store."""

    def __init__(
        self,
        kind: ErrorKind,
        message: str,
        *,
        endpoint: str = "",
        status: int | None = None,
        attempts: int = 1,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.endpoint = endpoint
        self.status = status
        self.attempts = attempts

    def __str__(self) -> str:
        where = f" [{self.endpoint}]" if self.endpoint else ""
        tries = f" after {self.attempts} attempts" if self.attempts > 1 else ""
        return f"{self.kind.value}: {self.message}{where}{tries}"
