"""A scripted OpenAI-compatible engine whose answers slow by a set factor per number of concurrent requests: what
the contention rule is tested on, since a real engine's slowdown on a given machine cannot be chosen.

Every token (the first one included) waits `token_s × slowdowns[others]`, where `others` is how many other answers
are being generated at that moment, across every model it serves (the last factor for more). `others_at_first`
counts, per model and answer, the other answers in flight when its first token went out: what a test reads to know
what ran beside what, rather than inferring it from times.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence

from tests.stubs.httpserver import Reply, Request, StubServer


class ContendedServer:
    def __init__(self, models: list[str], slowdowns: Sequence[float] = (1.0,), token_s: float = 0.02) -> None:
        self.models, self.slowdowns, self.token_s = models, tuple(slowdowns), token_s
        self.in_flight = 0
        self.others_at_first: dict[str, list[int]] = {}
        self.server = StubServer({("GET", "/v1/models"): self.list_models, ("POST", "/v1/chat/completions"): self.chat})

    @property
    def url(self) -> str:
        return self.server.url

    def _slowdown(self) -> float:
        return self.slowdowns[min(self.in_flight - 1, len(self.slowdowns) - 1)]

    async def list_models(self, req: Request, reply: Reply) -> None:
        await reply.send(200, {"object": "list", "data": [{"id": m, "object": "model"} for m in self.models]})

    async def chat(self, req: Request, reply: Reply) -> None:
        body = req.json() or {}
        n = int(body.get("max_tokens") or 16)
        self.in_flight += 1
        try:
            await reply.start(ctype="text/event-stream")
            for i in range(n):
                await asyncio.sleep(self.token_s * self._slowdown())
                if reply.writer.is_closing():  # the client went away (a neighbour stopped)
                    return
                if i == 0:
                    self.others_at_first.setdefault(str(body.get("model")), []).append(self.in_flight - 1)
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
