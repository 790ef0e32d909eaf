"""The counting network stream answers httpx's "is this idle connection still usable?" itself, from the socket it
kept at connect: the answer must be the one httpcore's own check gives, in every state a pooled connection can be
in (nothing to read, data waiting, closed by the engine)."""

from __future__ import annotations

import socket
import typing

import httpcore
from httpcore._utils import is_socket_readable

from llamune_eval.engines._traffic import CountingStream


class _Inner(httpcore.AsyncNetworkStream):
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.asked: list[str] = []

    def get_extra_info(self, info: str) -> typing.Any:
        self.asked.append(info)
        return self.sock if info == "socket" else None


def test_is_readable_is_httpcores_answer_without_asking_the_inner_stream() -> None:
    ours, engine = socket.socketpair()
    inner = _Inner(ours)
    stream = CountingStream(inner, engine=True)
    try:
        states = []
        states.append((stream.get_extra_info("is_readable"), is_socket_readable(ours)))  # idle, nothing waiting
        engine.sendall(b"x")
        states.append((stream.get_extra_info("is_readable"), is_socket_readable(ours)))  # a byte waiting
        ours.recv(1)
        engine.close()
        states.append((stream.get_extra_info("is_readable"), is_socket_readable(ours)))  # the engine hung up
        assert states == [(False, False), (True, True), (True, True)]
        assert inner.asked == ["socket"]  # asked once, at connect; never per request
    finally:
        ours.close()
