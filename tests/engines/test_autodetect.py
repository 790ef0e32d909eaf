"""With no engines configured: Ollama when it answers at OLLAMA_HOST, else the embedded engine."""

from __future__ import annotations

import socket

import pytest

from llamune_eval.config import Config
from llamune_eval.engines import EmbeddedBackend, OllamaBackend, build_backends, detect_ollama
from tests.stubs.httpserver import Reply, Request, StubServer


async def _version(req: Request, reply: Reply) -> None:
    await reply.send(200, {"version": "0.9.0"})


def test_uses_ollama_when_it_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    with StubServer({("GET", "/api/version"): _version}) as srv:
        monkeypatch.setenv("OLLAMA_HOST", f"127.0.0.1:{srv.port}")
        assert detect_ollama() == srv.url
        [backend] = build_backends(Config())
    assert isinstance(backend, OllamaBackend) and backend.endpoint == srv.url


def test_falls_back_to_embedded_when_nothing_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        monkeypatch.setenv("OLLAMA_HOST", f"127.0.0.1:{s.getsockname()[1]}")
        assert detect_ollama() is None
        [backend] = build_backends(Config())
    assert isinstance(backend, EmbeddedBackend)


def test_a_server_that_is_not_ollama_is_not_mistaken_for_one(monkeypatch: pytest.MonkeyPatch) -> None:
    with StubServer({}) as srv:  # answers 404 to everything
        monkeypatch.setenv("OLLAMA_HOST", srv.url)
        assert detect_ollama() is None
