"""An OpenAI-compatible server whose models think, the three ways servers show it: `reasoning_content` deltas
(llama.cpp with a reasoning format, vLLM), `<think>` blocks in the text, and a block the chat template opened
itself (only `</think>` in the text). What no bundled model can show: the bundled models do not reason."""

from __future__ import annotations

import json

from tests.stubs.httpserver import Reply, Request, StubServer

MODELS = ("think-field", "think-inline", "think-open", "think-cut")
THOUGHT = "選択肢を比べる。3日ではなく、2番が正しい。"


def _sse(delta: dict[str, object], finish: str | None = None) -> str:
    return "data: " + json.dumps({"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]},
                                 ensure_ascii=False) + "\n\n"  # fmt: skip


class ReasoningServer:
    """Every model answers 「2」 after thinking THOUGHT; `think-cut` runs out of tokens while still thinking."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, object]] = []
        self.server = StubServer({("POST", "/v1/chat/completions"): self.chat, ("GET", "/v1/models"): self.models})

    @property
    def url(self) -> str:
        return self.server.url

    async def models(self, req: Request, reply: Reply) -> None:
        data = [{"id": m, "object": "model", "owned_by": "stub"} for m in MODELS]
        await reply.send(200, {"object": "list", "data": data})

    async def chat(self, req: Request, reply: Reply) -> None:
        body = req.json()
        self.bodies.append(body)
        model = body["model"]
        await reply.start(200, "text/event-stream")
        if model == "think-field":
            for part in (THOUGHT[:8], THOUGHT[8:]):
                await reply.chunk(_sse({"reasoning_content": part}))
            pieces = ["2"]
        elif model == "think-inline":
            pieces = ["<think>", THOUGHT[:8], THOUGHT[8:], "</think>", "\n\n", "2"]
        elif model == "think-open":
            pieces = [THOUGHT, "</think>", "\n", "2"]
        else:
            pieces = ["<think>", THOUGHT]
        for piece in pieces:
            await reply.chunk(_sse({"content": piece}))
        await reply.chunk(_sse({}, "length" if model == "think-cut" else "stop"))
        usage = {"prompt_tokens": 10, "completion_tokens": 30, "total_tokens": 40}
        await reply.chunk("data: " + json.dumps({"choices": [], "usage": usage}) + "\n\n")
        await reply.chunk("data: [DONE]\n\n")
        await reply.end()

    def __enter__(self) -> ReasoningServer:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()
