"""An OpenAI-compatible and Ollama-compatible server that misbehaves on cue, for what a real engine cannot show."""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import Iterable

from tests.stubs.httpserver import Reply, Request, StubServer

TOKENS = ["Hel", "lo", " there", "!"]


def _sse(delta: dict[str, object], finish: str | None = None) -> str:
    return "data: " + json.dumps({"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}) + "\n\n"


class FaultServer:
    """Each chat request takes the next mode from the script ('ok' once the script runs out).

    Modes: ok, reset (RST after two tokens), reset_early (RST before any byte), 500, 502, 503, 404, 400, oom,
    stall (no answer), stall_mid (two tokens, then silence), malformed (a broken JSON line), trickle (one token
    every 0.2 s, forever), cut (clean end of stream without a finish), error_obj (an error object mid-stream).
    """

    def __init__(self, script: Iterable[str] = (), stall_s: float = 5.0, delay_s: float = 0.0) -> None:
        self.script = deque(script)
        self.stall_s = stall_s
        self.delay_s = delay_s  # every answer waits this long first: a slow engine, to interrupt a run
        self.server = StubServer(
            {
                ("POST", "/v1/chat/completions"): self.openai,
                ("GET", "/v1/models"): self.models,
                ("POST", "/api/chat"): self.ollama,
            }
        )

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def chats(self) -> int:
        return self.server.count("/v1/chat/completions") + self.server.count("/api/chat")

    def wait_chats(self, n: int, timeout: float = 60) -> None:
        """Until `n` chat requests have arrived; TimeoutError otherwise."""
        self.server.wait_until(lambda: self.chats >= n, timeout, f"{n} chat requests")

    async def models(self, req: Request, reply: Reply) -> None:
        await reply.send(200, {"object": "list", "data": [{"id": "m", "object": "model", "owned_by": "stub"}]})

    async def _common(self, mode: str, reply: Reply) -> bool:
        """Modes that look the same in both protocols; True when handled."""
        if mode in ("500", "502", "503", "404", "400"):
            await reply.send(int(mode), {"error": {"message": f"injected {mode}", "code": int(mode)}})
        elif mode == "oom":  # Ollama's answer when a model does not fit
            await reply.send(500, {"error": "model requires more system memory (8.0 GiB) than is available (4.0 GiB)"})
        elif mode == "reset_early":
            reply.abort()
        elif mode == "close_early":  # FIN before any byte: what a stale keep-alive connection looks like
            reply.writer.close()
            reply.closed = True
        elif mode == "stall":
            await asyncio.sleep(self.stall_s)
            reply.abort()
        else:
            return False
        return True

    async def openai(self, req: Request, reply: Reply) -> None:
        mode = self.script.popleft() if self.script else "ok"
        if await self._common(mode, reply):
            return
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        await reply.start(200, "text/event-stream")
        if mode == "trickle":
            while True:
                await reply.chunk(_sse({"content": "."}))
                await asyncio.sleep(0.2)
        for i, tok in enumerate(TOKENS):
            if i == 2 and mode in ("reset", "stall_mid", "malformed", "cut", "error_obj"):
                if mode == "reset":
                    return reply.abort()
                if mode == "stall_mid":
                    await asyncio.sleep(self.stall_s)
                    return reply.abort()
                if mode == "malformed":
                    await reply.chunk('data: {"choices": [{"delta": {"content": "x"\n\n')
                    break
                if mode == "error_obj":
                    await reply.chunk('data: {"error": {"message": "slot crashed"}}\n\n')
                    break
                return await reply.end()  # cut: a clean end with no finish_reason and no [DONE]
            await reply.chunk(_sse({"content": tok}))
        else:
            await reply.chunk(_sse({}, "stop"))
            usage = {"prompt_tokens": 5, "completion_tokens": len(TOKENS), "total_tokens": 5 + len(TOKENS)}
            await reply.chunk("data: " + json.dumps({"choices": [], "usage": usage}) + "\n\n")
            await reply.chunk("data: [DONE]\n\n")
        await reply.end()

    async def ollama(self, req: Request, reply: Reply) -> None:
        mode = self.script.popleft() if self.script else "ok"
        if await self._common(mode, reply):
            return
        await reply.start()
        for i, tok in enumerate(TOKENS):
            if i == 2 and mode == "reset":
                return reply.abort()
            if i == 2 and mode == "malformed":
                await reply.chunk('{"message": {"content": \n')
                return await reply.end()
            if i == 2 and mode == "error_obj":
                await reply.chunk('{"error": "an error was encountered while running the model"}\n')
                return await reply.end()
            if i == 2 and mode == "cut":
                return await reply.end()
            obj = {"model": "m", "message": {"role": "assistant", "content": tok}, "done": False}
            await reply.chunk(json.dumps(obj) + "\n")
        final = {
            "model": "m", "message": {"role": "assistant", "content": ""}, "done": True, "done_reason": "stop",
            "total_duration": 2_000_000, "prompt_eval_count": 5, "eval_count": 4, "eval_duration": 1_000_000,
        }  # fmt: skip
        await reply.chunk(json.dumps(final) + "\n")
        await reply.end()

    def __enter__(self) -> FaultServer:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()
