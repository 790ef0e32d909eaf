"""The Ollama client against a server speaking Ollama's documented protocol, real llama.cpp behind it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from llamune_eval.engines import Engine, OllamaBackend
from llamune_eval.engines.embedded import EmbeddedServer
from llamune_eval.engines.ollama import ollama_url, parse_parameter_size
from llamune_eval.types import ChatResult, EngineError, ErrorKind, FinishReason, SamplingParams, Token
from tests.conftest import SMOL_CTX
from tests.stubs.ollama_server import OllamaModel, OllamaStub

NAME = "smollm2:135m-instruct-q4_1"


@pytest.fixture(scope="module")
def ollama(smollm2_server: EmbeddedServer, smollm2_path: Path) -> Iterator[OllamaStub]:
    assert smollm2_server.url
    stub = OllamaStub([OllamaModel(NAME, smollm2_path, smollm2_server.url, SMOL_CTX)]).start()
    yield stub
    stub.stop()


@pytest.fixture
async def engine(ollama: OllamaStub):
    async with Engine([OllamaBackend(ollama.url)]) as eng:
        yield eng


async def test_chat_streams_ndjson_and_converts_nanoseconds(engine: Engine, ollama: OllamaStub) -> None:
    events = [e async for e in engine.stream(NAME, "Name a colour.", SamplingParams(temperature=0, max_tokens=12))]
    result = events[-1]
    assert isinstance(result, ChatResult)
    assert result.text == "".join(e.text for e in events if isinstance(e, Token))
    assert result.completion_tokens and result.completion_tokens <= 12
    assert result.prompt_tokens and result.prompt_tokens > 3
    # durations arrive in ns; the result carries seconds, so a sub-minute answer has sub-minute durations
    assert 0 < result.engine_timings["total_s"] < 60
    assert 0 < result.engine_timings["eval_s"] <= result.engine_timings["total_s"]
    assert result.tokens_per_s == pytest.approx(result.completion_tokens / result.engine_timings["eval_s"])
    assert result.attempts == 1  # no fault was injected: a resend would hide a server bug
    body = ollama.models[NAME].bodies[-1]
    assert body["keep_alive"] == "30m" and "think" not in body  # kept loaded; think only when configured


async def test_options_are_mapped_to_ollama_names(engine: Engine, ollama: OllamaStub) -> None:
    params = SamplingParams(temperature=0.3, top_p=0.8, top_k=7, max_tokens=6, repeat_penalty=1.2, num_ctx=1024,
                            seed=5, stop=("\n\n",))  # fmt: skip
    result = await engine.chat(NAME, "Hi", params)
    sent = ollama.models[NAME].options_seen[-1]
    assert sent == {"temperature": 0.3, "top_p": 0.8, "top_k": 7, "num_predict": 6, "repeat_penalty": 1.2,
                    "num_ctx": 1024, "seed": 5, "stop": ["\n\n"]}  # fmt: skip
    assert result.unsupported_params == {}  # Ollama takes every parameter per request


async def test_max_tokens_gives_length_and_greedy_repeats(engine: Engine) -> None:
    p = SamplingParams(temperature=0, max_tokens=4, seed=1)
    a = await engine.chat(NAME, "Describe the moon at length.", p)
    b = await engine.chat(NAME, "Describe the moon at length.", p)
    assert a.finish_reason is FinishReason.LENGTH and a.completion_tokens == 4
    assert a.text == b.text


async def test_tags_show_and_ps(engine: Engine, ollama: OllamaStub) -> None:
    [model] = await engine.list_models()
    assert model.name == NAME
    assert model.family == "llama"
    assert model.quantization == "Q4_1"
    assert model.parameter_count == 134_515_008  # from /api/show model_info, exact
    assert model.context_length == 8192
    assert model.size_bytes == ollama.models[NAME].path.stat().st_size
    assert model.digest == ollama.models[NAME].digest
    await engine.chat(NAME, "Hi", SamplingParams(max_tokens=2, num_ctx=SMOL_CTX))  # Ollama loads at this context
    [loaded] = await engine.loaded()
    assert loaded.name == NAME and loaded.memory_bytes and loaded.memory_bytes > model.size_bytes
    assert loaded.context_length == SMOL_CTX and loaded.expires_at
    [health] = await engine.health()
    assert health.ok and health.version == "0.12.6"


async def test_unknown_model_is_not_found_and_not_retried(engine: Engine, ollama: OllamaStub) -> None:
    before = ollama.server.count("/api/chat")
    with pytest.raises(EngineError) as info:
        await engine.chat("no-such-model:7b", "Hi", SamplingParams(max_tokens=2))
    assert info.value.kind is ErrorKind.NOT_FOUND
    assert "not found" in str(info.value)
    assert ollama.server.count("/api/chat") == before + 1


@pytest.mark.parametrize(
    ("raw", "url"),
    [  # as Ollama itself (and its Python client) reads OLLAMA_HOST
        ("", "http://127.0.0.1:11434"),
        ("0.0.0.0", "http://127.0.0.1:11434"),
        ("1.2.3.4", "http://1.2.3.4:11434"),
        (":8080", "http://127.0.0.1:8080"),
        ("1.2.3.4:56789", "http://1.2.3.4:56789"),
        ("http://1.2.3.4", "http://1.2.3.4:80"),
        ("https://1.2.3.4", "https://1.2.3.4:443"),
        ("https://example.com:56789", "https://example.com:56789"),
        ("gpu-box:8080", "http://gpu-box:8080"),
        ("example.com/", "http://example.com:11434"),
        ("example.com:56789/path/", "http://example.com:56789/path"),
        ("https://ollama.internal", "https://ollama.internal:443"),
        ("http://10.1.2.3:11434/", "http://10.1.2.3:11434"),
        ("[::1]:1234", "http://[::1]:1234"),
        ("::1", "http://[::1]:11434"),
        ("[0001:002:003:0004::1]", "http://[0001:002:003:0004::1]:11434"),
        ("https://[0001:002:003:0004::1]", "https://[0001:002:003:0004::1]:443"),
        ("[0001:002:003:0004::1]:56789/path", "http://[0001:002:003:0004::1]:56789/path"),
    ],
)
def test_ollama_host_forms(raw: str, url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMA_HOST", raw)
    assert ollama_url() == url


def test_parameter_size_parsing() -> None:
    assert parse_parameter_size("7.6B") == 7_600_000_000
    assert parse_parameter_size("135M") == 135_000_000
    assert parse_parameter_size("weird") is None


async def test_format_schema_is_sent_and_honoured(engine: Engine) -> None:
    import json

    import jsonschema

    schema = {"type": "object", "properties": {"colour": {"type": "string"}}, "required": ["colour"]}
    result = await engine.chat(NAME, "Name a colour.", SamplingParams(temperature=0, max_tokens=40), json_schema=schema)
    jsonschema.validate(json.loads(result.text), schema)


async def test_a_prompt_that_cannot_fit_the_context_is_not_sent(engine: Engine, ollama: OllamaStub) -> None:
    """Ollama would cut it silently to num_ctx; the answer to a cut prompt is no evidence, so it is refused here."""
    sent = len(ollama.models[NAME].bodies)
    huge = "あ" * (1024 * 256 + 1)  # more characters than 1,024 tokens of any tokenizer hold
    with pytest.raises(EngineError) as caught:
        await engine.chat(NAME, huge, SamplingParams(num_ctx=1024, max_tokens=4))
    assert caught.value.kind is ErrorKind.TRUNCATED and "not sent" in str(caught.value)
    assert len(ollama.models[NAME].bodies) == sent  # nothing reached the server
    fits = await engine.chat(NAME, "あ" * 200, SamplingParams(num_ctx=1024, max_tokens=4))
    assert fits.completion_tokens
