"""Every list of sampling fields and every quarter check agrees with the one definition: `types.SamplingParams`
and `types.QUARTER_PATTERN`. A field added there fails here until each list says what it does with it."""

from __future__ import annotations

import inspect
import re

import pytest
import typer
from pydantic import ValidationError

from llamune_eval.cli.main import _quarter, ask
from llamune_eval.config import RunConfig
from llamune_eval.engines.ollama import OllamaBackend
from llamune_eval.engines.openai import GENERIC, LLAMACPP, VLLM, OpenAIBackend
from llamune_eval.quarters import QUARTER
from llamune_eval.settings import PARAMETER_FIELDS, LLMParameters
from llamune_eval.types import QUARTER_PATTERN, SamplingParams

ALL = SamplingParams(temperature=0.5, top_p=0.9, top_k=40, max_tokens=100, repeat_penalty=1.1, num_ctx=2048,
                     seed=7, stop=("###",))  # fmt: skip


def test_the_contract_has_these_fields() -> None:
    assert tuple(SamplingParams.model_fields) == (
        "temperature", "top_p", "top_k", "max_tokens", "repeat_penalty", "num_ctx", "seed", "stop"
    )  # fmt: skip


def test_a_settings_file_carries_every_field_but_the_runs_own() -> None:
    assert PARAMETER_FIELDS == ("temperature", "top_p", "top_k", "max_tokens", "repeat_penalty", "num_ctx")
    for name in ("temperature", "top_p"):  # required in the file, with the engine's bounds
        assert LLMParameters.model_fields[name].metadata == SamplingParams.model_fields[name].metadata


def test_ollama_is_sent_every_field_under_its_own_name() -> None:
    assert OllamaBackend.options(ALL) == {
        "temperature": 0.5, "top_p": 0.9, "top_k": 40, "num_predict": 100, "repeat_penalty": 1.1, "num_ctx": 2048,
        "seed": 7, "stop": ["###"],
    }  # fmt: skip


@pytest.mark.parametrize(
    ("flavor", "sent", "refused"),
    [(LLAMACPP, {"top_k", "repeat_penalty"}, {"num_ctx"}),
     (VLLM, {"top_k", "repetition_penalty"}, {"num_ctx"}),
     (GENERIC, set(), {"top_k", "repeat_penalty", "num_ctx"})],
)  # fmt: skip
async def test_an_openai_server_gets_every_field_or_a_reason(flavor: str, sent: set[str], refused: set[str]) -> None:
    backend = OpenAIBackend("http://127.0.0.1:9", flavor=flavor)
    try:
        body, unsupported = backend.build_body("m", [], ALL)
    finally:
        await backend.aclose()
    common = {"model", "messages", "stream", "stream_options", "max_tokens", "temperature", "top_p", "seed", "stop"}
    assert set(body) == common | sent and set(unsupported) == refused
    assert body["max_tokens"] == 100 and body["stop"] == ["###"] and body["seed"] == 7


def test_ask_takes_every_field_but_the_context_size() -> None:
    """`ask` is a smoke test of one request: the context is the engine's (or the model's) own."""
    options = set(inspect.signature(ask).parameters) - {"prompt", "model", "system", "config", "as_json"}
    assert options == set(SamplingParams.model_fields) - {"num_ctx"}


@pytest.mark.parametrize(
    ("value", "valid"),
    [("2027-Q1", True), ("2027-Q4", True), ("2027-Q5", False), ("2027-q1", False), ("27-Q1", False),
     ("2027-Q1.2", False), ("2027-Q1\n", False), ("", False)],
)  # fmt: skip
def test_the_config_the_settings_and_the_cli_take_the_same_quarters(value: str, valid: bool) -> None:
    assert bool(QUARTER.fullmatch(value)) is valid and bool(re.fullmatch(QUARTER_PATTERN, value)) is valid
    try:
        RunConfig(quarter=value)
        config_ok = True
    except ValidationError:
        config_ok = False
    try:
        cli_ok = _quarter(value) == value
    except typer.BadParameter:
        cli_ok = False
    assert (config_ok, cli_ok) == (valid, valid)
