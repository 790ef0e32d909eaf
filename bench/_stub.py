"""An instant OpenAI-compatible stub for throughput ceilings: a raw asyncio Protocol with a canned SSE answer.

It runs in its own process (`python -m bench._stub`) so the client under test has a core to itself and the
stub is never the bottleneck it measures. Prints its port on stdout, serves until stdin closes.
"""

from __future__ import annotations

import asyncio
import json
import sys
import threading
import time

TOKENS = ["The", " answer", " is", " B", "."]
JUDGE_TOKENS = ['{"criteria": {"accuracy": 7, "consistency": 8, "coverage": 6, "appropriateness": 7, ',
                '"naturalness": 8, "usefulness": 7}, ', '"overall": 7, ', '"reason": "良い回答です。"}']  # fmt: skip


def _canned(tokens: list[str]) -> bytes:
    events = [{"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]}]
    events += [{"choices": [{"index": 0, "delta": {"content": t}, "finish_reason": None}]} for t in tokens]
    events.append({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    usage = {"prompt_tokens": 40, "completion_tokens": len(tokens), "total_tokens": 40 + len(tokens)}
    events.append({"choices": [], "usage": usage})
    body = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"
    chunk = f"{len(body.encode()):x}\r\n{body}\r\n0\r\n\r\n".encode()
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
    return head + chunk


RESPONSE = _canned(JUDGE_TOKENS if sys.argv[1:] == ["judge"] else TOKENS)
PROPS_404 = b"HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
MODELS = json.dumps({"data": [{"id": "stub", "object": "model", "owned_by": "stub"}]}).encode()
MODELS_RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (
    len(MODELS),
    MODELS,
)


def _ollama(tokens: list[str]) -> bytes:
    """Ollama's NDJSON stream: a line per token, then the final object with its counts and nanosecond durations."""
    lines = [{"model": "stub", "created_at": "2026-11-30T00:00:00Z", "message": {"role": "assistant", "content": t},
              "done": False} for t in tokens]  # fmt: skip
    lines.append({"model": "stub", "created_at": "2026-11-30T00:00:00Z", "message": {"role": "assistant",
                  "content": ""}, "done": True, "done_reason": "stop", "total_duration": 2_000_000,
                  "prompt_eval_count": 40, "prompt_eval_duration": 500_000, "eval_count": len(tokens),
                  "eval_duration": 1_000_000})  # fmt: skip
    body = "".join(json.dumps(x) + "\n" for x in lines)
    chunk = f"{len(body.encode()):x}\r\n{body}\r\n0\r\n\r\n".encode()
    return b"HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk


OLLAMA_RESPONSE = _ollama(TOKENS)
COUNT = [0]
TALLY: dict[str, int] = {}
FIRST: list[float | None] = [None]  # the wall time of the first chat request since the last /mark


class Instant(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]
        self.buf = b""

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buf[:end].decode("latin-1")
            length = 0
            for line in head.split("\r\n")[1:]:
                if line[:15].lower() == "content-length:":
                    length = int(line[15:])
            if len(self.buf) < end + 4 + length:
                return
            self.buf = self.buf[end + 4 + length :]
            path = head.split(" ", 2)[1]
            if path.startswith("/v1/chat"):
                COUNT[0] += 1
                if FIRST[0] is None:
                    FIRST[0] = time.time()
                self.transport.write(RESPONSE)
            elif path.startswith("/api/chat"):  # Ollama's protocol
                COUNT[0] += 1
                self.transport.write(OLLAMA_RESPONSE)
            elif path.startswith("/count"):  # how many chat requests so far: the resume benchmark asks
                body = str(COUNT[0]).encode()
                self.transport.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
            elif path.startswith("/mark"):  # start-up benchmarks: forget the first request's time
                FIRST[0] = None
                self.transport.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            elif path.startswith("/first"):  # ... and ask when the next one arrived (wall clock)
                body = json.dumps(FIRST[0]).encode()
                self.transport.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
            elif path.startswith("/tally"):  # every other request by path: the fast-path benchmark counts listings
                body = json.dumps(TALLY).encode()
                self.transport.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
            elif path.startswith("/v1/models"):
                TALLY["/v1/models"] = TALLY.get("/v1/models", 0) + 1
                self.transport.write(MODELS_RESPONSE)
            else:
                TALLY[path] = TALLY.get(path, 0) + 1
                self.transport.write(PROPS_404)


async def main() -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Instant, "127.0.0.1", 0, backlog=1024)
    print(server.sockets[0].getsockname()[1], flush=True)
    done = asyncio.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), loop.call_soon_threadsafe(done.set)), daemon=True).start()
    await done.wait()


if __name__ == "__main__":
    asyncio.run(main())
