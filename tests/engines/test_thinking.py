"""Reasoning models: the thinking is kept apart from the answer, stored, never scored, and budgeted beside the
answer cap (against a stub: the bundled models do not reason)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llamune_eval.config import Config
from llamune_eval.engines import OpenAIBackend
from llamune_eval.engines.engine import Engine
from llamune_eval.runner.sweep import Sweep, sweep
from llamune_eval.types import FinishReason, SamplingParams, split_thinking
from tests.stubs.reasoning import THOUGHT, ReasoningServer

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("text", "thinking", "answer"),
    [
        ("<think>考える</think>\n\n2", "考える", "2"),
        ("考える</think>2", "考える", "2"),  # the chat template opened the block
        ("<think>考え続ける", "考え続ける", ""),  # cut off while thinking: no answer at all
        ("2", "", "2"),
        ("<think>a</think>前<think>b</think>後", "a\n\nb", "前後"),
    ],
)
def test_split_thinking(text: str, thinking: str, answer: str) -> None:
    assert split_thinking(text) == (thinking, answer)


@pytest.mark.parametrize("model", ["think-field", "think-inline", "think-open"])
async def test_the_answer_comes_without_its_thinking(model: str) -> None:
    with ReasoningServer() as srv:
        async with Engine([OpenAIBackend(srv.url)]) as engine:
            result = await engine.chat(model, "問題", SamplingParams(max_tokens=64))
    assert (result.text, result.thinking) == ("2", THOUGHT)


async def test_cut_off_while_thinking_is_an_empty_answer_of_length() -> None:
    with ReasoningServer() as srv:
        async with Engine([OpenAIBackend(srv.url)]) as engine:
            result = await engine.chat("think-cut", "問題", SamplingParams(max_tokens=64))
    assert (result.text, result.thinking, result.finish_reason) == ("", THOUGHT, FinishReason.LENGTH)


async def test_a_run_stores_the_thinking_apart_scores_the_answer_and_budgets_it(tmp_path: Path) -> None:
    with ReasoningServer() as srv:
        cfg = Config.model_validate({
            "engines": [{"kind": "openai", "url": srv.url}], "paths": {"store": str(tmp_path / "r.duckdb")},
            "run": {"suites_dir": str(ROOT / "suites"), "presets": ["fast"], "models": ["think-inline", "think-cut"]},
            "models": {"think-inline": {"thinking_budget": 512}},
        })  # fmt: skip
        outcome = await sweep(cfg, Sweep(suites=["jcommonsenseqa"], limit=2))
        caps = {b["model"]: b["max_tokens"] for b in srv.bodies}
    assert caps == {"think-inline": 8 + 512, "think-cut": 8}  # the budget sits beside the suite's answer cap
    with outcome.store as store:
        rows = {r.model: r for r in store.samples() if r.item_id == store.samples()[0].item_id}
        inline, cut = rows["think-inline"], rows["think-cut"]
        assert json.loads(inline.output) == ["2"] and json.loads(inline.thinking) == [THOUGHT]
        assert inline.parse_ok and inline.parsed == "2"  # 「3日」 in the thinking is never read
        assert json.loads(cut.output) == [""] and cut.finish_reason == "length" and not cut.parse_ok
        assert json.loads(inline.params)["max_tokens"] == 520
