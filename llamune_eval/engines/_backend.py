"""The extension point: one Backend per endpoint. The Engine facade adds pooling and retries on top."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from typing import Any, Protocol, runtime_checkable

from llamune_eval.engines._http import Clock
from llamune_eval.types import ChatResult, Health, LoadedModel, Message, ModelInfo, SamplingParams, Token


@runtime_checkable
class Backend(Protocol):
    """A single engine endpoint. `stream_once` makes exactly one attempt: no retries here.

    It yields `Token`s and ends with exactly one `ChatResult`, or raises `EngineError`. With `json_schema` the
    answer is constrained to JSON matching it, through the engine's own structured-output option.
    """

    kind: str
    endpoint: str
    max_concurrency: int

    async def health(self) -> Health: ...

    async def list_models(self) -> list[ModelInfo]: ...

    async def loaded(self) -> list[LoadedModel]: ...

    def stream_once(
        self,
        model: str,
        messages: Sequence[Message],
        params: SamplingParams,
        clock: Clock,
        json_schema: dict[str, Any] | None = None,
    ) -> AsyncGenerator[Token | ChatResult, None]: ...

    async def aclose(self) -> None: ...
