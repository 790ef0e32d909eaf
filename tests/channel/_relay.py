"""A recording TCP relay in front of a real server: every byte a client sends to it (and every byte back) is kept,
so a test can read exactly what the server received. It forwards; it never answers by itself."""

from __future__ import annotations

import contextlib
import socket
import threading
from types import TracebackType


class Relay:
    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.lock = threading.Lock()
        self.upstream = bytearray()  # what clients sent: what the server received
        self.downstream = bytearray()  # what the server answered
        self.connections = 0
        self.threads: list[threading.Thread] = []
        self.closing = False

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def _pump(self, src: socket.socket, dst: socket.socket, into: bytearray) -> None:
        try:
            while data := src.recv(65536):
                with self.lock:
                    into += data
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def _accept(self) -> None:
        while not self.closing:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            self.connections += 1
            for args in ((client, server, self.upstream), (server, client, self.downstream)):
                t = threading.Thread(target=self._pump, args=args, daemon=True)
                t.start()
                self.threads.append(t)

    def __enter__(self) -> Relay:
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.closing = True
        self.listener.close()

    def received(self) -> bytes:
        with self.lock:
            return bytes(self.upstream)
