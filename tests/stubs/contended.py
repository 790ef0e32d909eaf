"""A scripted OpenAI-compatible engine whose answers slow by a set factor per concurrent request: what the
contention rule is tested on, since a real engine's slowdown on a given machine cannot be chosen.

Every token (the first one included) waits `token_s × factor^(others)`, where `others` is how many other answers
are being generated at that moment, across every model it serves.
"""

from __future__ import annotations

import asyncio
import json

from tests.stubs.httpserver import Reply, Request, StubServer


class ContendedServer:
    def __init__(self, models: list[str], factor: float, token_s: float = 0.02) -> None:
        self.models, self.factor, self.token_s = models, factor, token_s
        self.in_flight = 0
        self.server = StubServer({("GET", "/v1/models"): self.list_models, ("POST", "/v1/chat/completions"): self.chat})

    @property
    def url(self) -> str:
        return self.server.url

    async def list_models(self, req: Request, reply: Reply) -> None:
        await reply.send(200, {"object": "list", "data": [{"id": m, "object": "model"} for m in self.models]})

    async def chat(self, req: Request, reply: Reply) -> None:
        body = req.json() or {}
        n = int(body.get("max_tokens") or 16)
        self.in_flight += 1
        try:
            await reply.start(ctype="text/event-stream")
            for i in range(n):
                await asyncio.sleep(self.token_s * self.factor ** (self.in_flight - 1))
                if reply.writer.is_closing():  # the client went away (a neighbour stopped)
                    return
                delta = {"choices": [{"index": 0, "delta": {"content": f"語{i}"}, "finish_reason": None}]}
                await reply.chunk(f"data: {json.dumps(delta)}\n\n")
            end = {"choices": [{"index": 0, "delta": {}, "finish_reason": "length"}],
                   "usage": {"prompt_tokens": 10, "completion_tokens": n, "total_tokens": 10 + n}}  # fmt: skip
            await reply.chunk(f"data: {json.dumps(end)}\n\ndata: [DONE]\n\n")
            await reply.end()
        except (ConnectionError, RuntimeError):
            reply.closed = True  # the client went away (a neighbour stopped): nothing more to send
        finally:
            self.in_flight -= 1

    def __enter__(self) -> ContendedServer:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()
