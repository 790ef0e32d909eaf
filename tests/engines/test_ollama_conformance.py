"""The Ollama test server, driven by Ollama's own Python client (`ollama` 0.6.3): every endpoint and field we use
parses as the official client expects, so the server is a fair stand-in for the Ollama no one can install here."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import ollama
import pytest

from llamune_eval.engines.embedded import EmbeddedServer
from tests.conftest import SMOL_CTX
from tests.stubs.ollama_server import OllamaModel, OllamaStub

NAME, THINKER = "smollm2:135m", "smol-r1:135m"


@pytest.fixture(scope="module")
def server(smollm2_server: EmbeddedServer, smollm2_path: Path) -> Iterator[OllamaStub]:
    assert smollm2_server.url
    stub = OllamaStub(
        [
            OllamaModel(NAME, smollm2_path, smollm2_server.url, SMOL_CTX),
            OllamaModel(THINKER, smollm2_path, smollm2_server.url, SMOL_CTX, thinks=True),
        ]
    ).start()
    yield stub
    stub.stop()


@pytest.fixture(scope="module")
def client(server: OllamaStub) -> ollama.Client:
    return ollama.Client(host=server.url)


def test_list_show_ps_and_version(client: ollama.Client, server: OllamaStub) -> None:
    names = [m.model for m in client.list().models]
    assert names == [NAME, THINKER]
    shown = client.show(NAME)
    assert shown.details is not None and shown.details.family == "llama"
    assert shown.modelinfo is not None and shown.modelinfo["general.parameter_count"] == 134_515_008
    assert "thinking" in (client.show(THINKER).capabilities or [])
    client.chat(NAME, messages=[{"role": "user", "content": "Hi"}], options={"num_predict": 2}, keep_alive="1m")
    running = {m.model: m for m in client.ps().models}
    assert NAME in running and running[NAME].context_length == SMOL_CTX and running[NAME].expires_at is not None


def test_chat_streamed_and_not_with_options(client: ollama.Client) -> None:
    options = {"temperature": 0, "num_predict": 6, "seed": 3, "top_k": 1}
    whole = client.chat(NAME, messages=[{"role": "user", "content": "Name a fruit."}], options=options)
    assert whole.done and whole.done_reason in ("stop", "length") and whole.message.content
    assert whole.eval_count and whole.eval_count <= 6 and whole.total_duration and whole.prompt_eval_count
    parts = list(client.chat(NAME, messages=[{"role": "user", "content": "Name a fruit."}], options=options,
                             stream=True))  # fmt: skip
    assert parts[-1].done and not any(p.done for p in parts[:-1])
    assert "".join(p.message.content or "" for p in parts) == whole.message.content  # greedy: the same answer


def test_format_json_and_schema(client: ollama.Client) -> None:
    as_json = client.chat(NAME, messages=[{"role": "user", "content": "A colour as JSON."}], format="json",
                          options={"num_predict": 30, "temperature": 0})  # fmt: skip
    assert (as_json.message.content or "").lstrip().startswith("{")  # constrained to JSON (cut at num_predict)
    schema = {"type": "object", "properties": {"colour": {"type": "string", "maxLength": 12}},
              "required": ["colour"], "additionalProperties": False}  # fmt: skip
    shaped = client.chat(NAME, messages=[{"role": "user", "content": "A colour."}], format=schema,
                         options={"num_predict": 60, "temperature": 0})  # fmt: skip
    assert "colour" in json.loads(shaped.message.content or "")


def test_thinking_model_think_on_and_off(client: ollama.Client) -> None:
    messages = [{"role": "user", "content": "2+2?"}]
    on = client.chat(THINKER, messages=messages, think=True, options={"num_predict": 64, "temperature": 0})
    assert on.message.thinking and on.message.content
    off = client.chat(THINKER, messages=messages, think=False, options={"num_predict": 64, "temperature": 0})
    assert not off.message.thinking and off.message.content
    starved = client.chat(THINKER, messages=messages, options={"num_predict": 8})  # thinks by default
    assert starved.message.thinking and starved.message.content == "" and starved.done_reason == "length"


def test_load_and_unload_requests(client: ollama.Client, server: OllamaStub) -> None:
    loaded = client.chat(NAME, messages=[], keep_alive="5m")
    assert loaded.done and loaded.done_reason == "load"
    gone = client.chat(NAME, messages=[], keep_alive=0)
    assert gone.done_reason == "unload" and NAME not in [m.model for m in client.ps().models]
    again = client.chat(NAME, messages=[], keep_alive="5m")
    assert again.load_duration and again.load_duration > 0  # it had to load again


def test_unknown_model_is_a_404_with_ollamas_wording(client: ollama.Client) -> None:
    with pytest.raises(ollama.ResponseError) as info:
        client.chat("no-such:7b", messages=[{"role": "user", "content": "Hi"}])
    assert info.value.status_code == 404 and 'model "no-such:7b" not found' in info.value.error


def test_zero_timings_are_omitted(client: ollama.Client) -> None:
    first = client.chat(NAME, messages=[{"role": "user", "content": "Hi"}], options={"num_predict": 2},
                        keep_alive="5m")  # fmt: skip
    second = client.chat(NAME, messages=[{"role": "user", "content": "Hi"}], options={"num_predict": 2})
    assert first.done and second.load_duration is None  # resident: Ollama sends no zero load_duration


def test_engine_failures_come_as_ollama_reports_them(tmp_path: Path, smollm2_path: Path) -> None:
    """An engine that fails before the answer is an HTTP 500 with `{"error"}`; one that fails after the answer
    began is an error line in the stream. The official client raises on both; ours does not retry either."""
    import asyncio

    from llamune_eval.engines import Engine, OllamaBackend
    from llamune_eval.types import EngineError, ErrorKind, SamplingParams
    from tests.stubs.faults import FaultServer

    with FaultServer(["reset", "500", "reset", "500"]) as upstream:
        model = OllamaModel(NAME, smollm2_path, upstream.url, SMOL_CTX)
        with OllamaStub([model]).start() as stub:
            client = ollama.Client(host=stub.url)
            with pytest.raises(ollama.ResponseError) as cut:
                list(client.chat(NAME, messages=[{"role": "user", "content": "Hi"}], stream=True))
            assert "llama runner process has terminated" in cut.value.error
            with pytest.raises(ollama.ResponseError) as failed:
                client.chat(NAME, messages=[{"role": "user", "content": "Hi"}])
            assert failed.value.status_code == 500

            async def ours() -> list[EngineError]:
                errors = []
                async with Engine([OllamaBackend(stub.url)]) as engine:
                    for _ in range(2):
                        with pytest.raises(EngineError) as info:
                            await engine.chat(NAME, "Hi", SamplingParams(max_tokens=4))
                        errors.append(info.value)
                return errors

            errors = asyncio.run(ours())
    assert [(e.kind, e.attempts) for e in errors] == [(ErrorKind.SERVER, 1), (ErrorKind.SERVER, 1)]
    assert upstream.chats == 4  # nothing was asked twice


def test_streamed_answers_are_never_cut(client: ollama.Client, server: OllamaStub) -> None:
    """The old test server reused a keep-alive connection llama.cpp had closed, cutting about one streamed answer
    in three (hidden by our client's resend). Thirty in a row, each complete at the first attempt."""
    import asyncio

    from llamune_eval.engines import Engine, OllamaBackend
    from llamune_eval.types import SamplingParams

    async def run() -> list[int]:
        async with Engine([OllamaBackend(server.url)]) as engine:
            results = [await engine.chat(NAME, f"Say {i}.", SamplingParams(max_tokens=3, temperature=0))
                       for i in range(30)]  # fmt: skip
        return [r.attempts for r in results]

    before = server.server.count("/api/chat")
    assert asyncio.run(run()) == [1] * 30
    assert server.server.count("/api/chat") - before == 30  # and no silent resend either
