"""Fuzzing the chat runtime's slash commands (the bad-input issue): whatever the arguments and the answers to its
questions, a command prints a message and the session goes on — no exception reaches the read loop, and the
session's database stays usable. A scripted engine answers instantly, so every command (/retry and /eval too) runs
without a model."""

from __future__ import annotations

import asyncio
import itertools
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from llamune_eval.chat.commands import handlers
from llamune_eval.chat.db import ChatDB
from llamune_eval.chat.repl import Repl
from llamune_eval.chat.runtime import ChatRuntime
from llamune_eval.settings import Active, LLMParameters, ModelConfig, QuarterlyUpdate
from llamune_eval.types import ChatResult, EngineError, ErrorKind, FinishReason, Message, SamplingParams

EXAMPLES = int(os.environ.get("LLAMUNE_FUZZ_EXAMPLES", "60"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None)
WORK = Path(tempfile.mkdtemp(prefix="llamune-fuzz-chat-"))
COUNTER = itertools.count()
INSTALLED = ["small", "mid"]
ANSWER = "答えです。\n```python\n# add\nprint(1 + 2)\n```\n```\nplain\n```\n"
ANSWERS = st.sampled_from([ANSWER, "```[/]\n# [/INST] [red]\nx = 1\n```", "コードなし", "```py\n```", ""])
CUSTOM = ('basedOn = "2026-Q1"\n[[models]]\nname = "small"\npriority = 1\npurpose = "メイン"\n'
          "[models.parameters]\ntemperature = 0.2\ntop_p = 0.9\n")  # fmt: skip


class ScriptedEngine:
    """Answers at once, with code blocks (so there are artifacts); a model it does not serve is an EngineError."""

    def __init__(self, answer: str) -> None:
        self.answer = answer

    async def chat(self, model: str, messages: list[Message] | str, params: SamplingParams | None = None,
                   on_token: Callable[[str], object] | None = None) -> ChatResult:  # fmt: skip
        if model not in INSTALLED:
            raise EngineError(ErrorKind.NOT_FOUND, f"model {model!r} not found", endpoint="scripted")
        if on_token is not None:
            on_token(self.answer)
        return ChatResult(text=self.answer, finish_reason=FinishReason.STOP, model=model, endpoint="scripted",
                          prompt_tokens=5, completion_tokens=7, ttft_s=0.01, latency_s=0.02)  # fmt: skip


@pytest.fixture(scope="module", autouse=True)
def _sandbox() -> Iterator[None]:
    """Every path a command may write (relative ones, ~, system.txt beside the custom settings) stays in WORK."""
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(WORK)
        mp.setenv("HOME", str(WORK / "home"))
        mp.setenv("LLAMUNE_SETTINGS", str(WORK / "config" / "settings.toml"))
        (WORK / "home").mkdir()
        (WORK / "config").mkdir()
        yield


COMMANDS = [*handlers(), "/bogus", "/", "//"]  # every command of the chat's one table (aliases too), and three it lacks
ARGS = st.one_of(
    st.sampled_from(["", "1", "2", "0", "-1", "9999", "abc", "１", "²", "٣", "1.5", "1e3", " 1 ", "apply", "keep",
                     "auto", "coding", "nope", "small", "mid", "fast", "balanced", "no-such-model:7b", "[/INST]",
                     "[red]x", "--permanent", "--permanent 丁寧に", "show", "show 1", "show 2", "show 9999",
                     "show ²", "save", "save 1", "save 1 out.py", "save 2 out.txt", "save 1 /nonexistent-dir/x.py",
                     "save 1 ~", "save 1 ~/x.py", "save 1 ~no-such-user-llamune/x.py", "save 1 " + "x" * 300,
                     "save 1 a\x00b", "save 1 .", "save 1 /proc/version", "save ² out.py", "1 save", "save 1 a b",
                     "\x00", "\t", "\u3000", "5 4 3", "5 4 3 良い", "9 9 9", "0", "5 x", "1 2 3 4 5"]),
    st.text(max_size=30),
    st.tuples(st.sampled_from(["show", "save"]), st.text(max_size=6), st.text(max_size=12)).map(" ".join),
)  # fmt: skip
LINES = st.tuples(st.sampled_from(COMMANDS), ARGS).map(lambda c: f"{c[0]} {c[1]}" if c[1] else c[0])
REPLIES = st.lists(st.one_of(st.sampled_from(["y", "yes", "はい", "n", "", "1", "²", "99", "x"]), st.text(max_size=5)),
                   max_size=4)  # fmt: skip


def _runtime(folder: Path, custom: str, newer: bool, answer: str) -> tuple[ChatRuntime, Path]:
    custom_path = folder / "settings.toml"
    if custom == "valid":
        custom_path.write_text(CUSTOM, encoding="utf-8")
    elif custom == "not-utf8":
        custom_path.write_bytes(b'basedOn = "\xff"\n')
    elif custom == "folder":
        custom_path.mkdir()
    params = LLMParameters(temperature=0.2, top_p=0.9)
    models = [ModelConfig(name=m, priority=i, purpose="p", parameters=params) for i, m in enumerate(INSTALLED, 1)]
    active = Active(source="custom", version="2026-Q1", models=models, execution_order=INSTALLED, concurrent_limit=1,
                    reason="your custom settings take precedence", custom_path=str(custom_path),
                    newer=QuarterlyUpdate(newVersion="2026-Q2", oldVersion="2026-Q1") if newer else None)  # fmt: skip
    db = ChatDB(folder / "chat.sqlite")
    return ChatRuntime(ScriptedEngine(answer), db, active, list(INSTALLED)), folder / "recommended"  # type: ignore[arg-type]


async def _session(lines: list[str], replies: list[str], custom: str, newer: bool, asked: int, answer: str) -> None:
    folder = WORK / f"session-{next(COUNTER)}"
    folder.mkdir()
    runtime, recommended = _runtime(folder, custom, newer, answer)
    pending = iter(replies)

    def read(prompt: str) -> str:
        try:
            return next(pending)
        except StopIteration:
            raise EOFError from None

    repl = Repl(runtime, read=read, recommended_dir=recommended)
    try:
        runtime.start()
        for i in range(asked):
            await repl.chat(f"質問 {i + 1}")
        for line in lines:
            outcome: Any = await repl.command(line)  # an exception here would end the session
            assert outcome in (None, "quit"), outcome
            assert runtime.state is not None
        await runtime.wait_background()
        assert runtime.state is not None
        runtime.db.history(runtime.state.session_id)  # the session's database is still usable
        runtime.db.usage(runtime.state.session_id)
    finally:
        await runtime.wait_background()
        runtime.db.close()


@FUZZ
@given(lines=st.lists(LINES, min_size=1, max_size=5), replies=REPLIES,
       custom=st.sampled_from(["valid", "valid", "missing", "not-utf8", "folder"]), newer=st.booleans(),
       asked=st.integers(0, 2), answer=ANSWERS)  # fmt: skip
@example(
    lines=["/rewind ²"], replies=[], custom="valid", newer=False, asked=1, answer=ANSWER
)  # a digit int() cannot read
@example(lines=["/artifacts show ²"], replies=[], custom="valid", newer=False, asked=1, answer=ANSWER)
@example(lines=["/retry"], replies=["²"], custom="valid", newer=False, asked=1, answer=ANSWER)
@example(
    lines=["/artifacts save 1 a\x00b"], replies=[], custom="valid", newer=False, asked=1, answer=ANSWER
)  # NUL in a path
@example(
    lines=["/artifacts save 1 " + "x" * 300], replies=[], custom="valid", newer=False, asked=1, answer=ANSWER
)  # too long
@example(
    lines=["/artifacts save 1 ~no-such-user-llamune/x.py"],
    replies=[],
    custom="valid",
    newer=False,
    asked=1,
    answer=ANSWER,
)
@example(
    lines=["/settings apply"], replies=[], custom="valid", newer=True, asked=0, answer=ANSWER
)  # no usable recommendation
@example(lines=["/settings keep"], replies=[], custom="not-utf8", newer=True, asked=0, answer=ANSWER)
@example(lines=["/settings keep"], replies=[], custom="missing", newer=True, asked=0, answer=ANSWER)
@example(lines=["/system [/INST]", "/system"], replies=[], custom="valid", newer=False, asked=0, answer=ANSWER)
@example(lines=["/artifacts"], replies=[], custom="valid", newer=False, asked=1, answer="```[/]\n# [/INST]\nx\n```")
def test_slash_commands_never_end_the_session(lines: list[str], replies: list[str], custom: str, newer: bool,
                                              asked: int, answer: str) -> None:  # fmt: skip
    asyncio.run(_session(lines, replies, custom, newer, asked, answer))
