"""A chat session: the main model answers, the other models of the active settings cross-check in the background,
and every answer is stored with its usage event. The terminal front end (`repl.py`) only reads and prints."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llamune_eval.categories import CATEGORIES, classify
from llamune_eval.chat.db import Answer, ChatDB
from llamune_eval.chat.slots import BACKGROUND, MAIN, Slots
from llamune_eval.engines import Engine
from llamune_eval.presets import BUILTIN, Preset
from llamune_eval.settings import Active, ModelConfig, default_custom_path
from llamune_eval.types import ChatResult, EngineError, FinishReason, InputError, Message, SamplingParams

CODE_BLOCK = re.compile(r"```([\w+#.-]*)\n(.*?)```", re.DOTALL)
EVAL_ITEMS = ("事実の正確性", "論理の一貫性", "網羅性", "表現の適切さ", "日本語の自然さ")


@dataclass
class Background:
    model: str
    turn: int
    text: str
    seen: bool = False  # announced to the user (who may show it with /others, or ignore it)


@dataclass
class ChatState:
    session_id: str
    model: str
    turn: int = 0
    system_extra: str | None = None
    background: list[Background] = field(default_factory=list)
    category_override: str | None = None  # /category NAME: this session's turns are NAME
    categories: dict[int, str] = field(default_factory=dict)  # turn -> the category its usage events carry


def params_for(config: ModelConfig | None, preset: Preset | None) -> SamplingParams:
    """A preset chosen in the session wins; otherwise the settings' parameters for the model (LLMParameters are
    the engine's SamplingParams, sent as they are)."""
    if preset is not None:
        return preset.params
    if config is None:
        return BUILTIN["general"].params
    return config.parameters


class ChatRuntime:
    def __init__(
        self, engine: Engine, db: ChatDB, active: Active, installed: list[str], *, titles: bool = True
    ) -> None:
        self.engine, self.db, self.active = engine, db, active
        self.titles = titles
        self.installed = installed
        self.state: ChatState | None = None
        self.tasks: set[asyncio.Task[None]] = set()
        self.preset_override: Preset | None = None
        self.slots = Slots(active.concurrent_limit)  # main and cross-checks together, the user's answer first
        self.title_task: asyncio.Task[None] | None = None
        self.title_after: tuple[str, str, str] | None = None  # a title put off by the user's next question
        self.on_background: Callable[[Background], object] | None = None  # told the moment an answer arrives

    # sessions
    def apply(self, active: Active) -> str:
        """Settings applied mid-session: their models, order and concurrentLimit from the next question on, and
        their main model for this session; returns it."""
        self.active = active
        self.slots.resize(active.concurrent_limit)
        main = self.main_model()
        if self.state is not None and main != self.state.model:
            self.state.model = main
            self.db.update_session(self.state.session_id, model=main)
        return main

    def configs(self) -> dict[str, ModelConfig]:
        return {m.name: m for m in self.active.models}

    def main_model(self) -> str:
        order = [m for m in self.active.execution_order if m in self.installed] or self.installed
        if not order:
            raise InputError("no model is installed on the configured engines (see `llamune models`)")
        return order[0]

    def start(self, session_id: str | None = None) -> ChatState:
        if session_id:
            row = self.db.session(session_id)
            if row is None:
                raise KeyError(session_id)
            turns = [m["turn"] for m in self.db.history(session_id)]
            self.state = ChatState(session_id, row["model"], max(turns, default=0), row["system_prompt"])
            self.preset_override = BUILTIN.get(row["preset"] or "")  # the session's /preset, as it was left
        else:
            model = self.main_model()
            sid = self.db.create_session(model, None)
            self.state = ChatState(sid, model)
            self.preset_override = None
        return self.state

    def messages(self, upto_turn: int | None = None) -> list[Message]:
        assert self.state is not None
        out: list[Message] = []
        system = "\n\n".join(p for p in (permanent_system(), self.state.system_extra) if p)
        if system:
            out.append(Message(role="system", content=system))
        for m in self.db.history(self.state.session_id, sources=("main", "retry")):
            if upto_turn is None or m["turn"] <= upto_turn:
                out.append(Message(role=m["role"], content=m["content"]))
        return out

    async def _answer(
        self, model: str, messages: list[Message], on_token: Callable[[str], object] | None
    ) -> ChatResult:
        preset = self.preset_override
        return await self.engine.chat(model, messages, params_for(self.configs().get(model), preset), on_token=on_token)

    def category(self, turn: int) -> str | None:
        assert self.state is not None
        return self.state.categories.get(turn)

    def set_category(self, name: str | None) -> int:
        """/category: NAME for the last turn and the session's next ones (None: back to the rule); returns how many
        of the last turn's usage events were relabelled."""
        assert self.state is not None
        if name is not None and name not in CATEGORIES:
            raise InputError(f"unknown category {name!r} (one of {', '.join(CATEGORIES)})")
        self.state.category_override = name
        turn = self.state.turn
        if name is None or not turn:
            return 0
        self.state.categories[turn] = name
        return self.db.set_category(self.state.session_id, turn, name)

    def _record(
        self, model: str, turn: int, source: str, result: ChatResult | None, error: EngineError | None, text: str = ""
    ) -> int:
        assert self.state is not None
        preset = (
            self.preset_override.name if self.preset_override else ("settings" if model in self.configs() else None)
        )
        params = params_for(self.configs().get(model), self.preset_override).model_dump()
        mid = (
            self.db.add_message(
                self.state.session_id, turn, "assistant", text, source=source, model=model, preset=preset, params=params
            )
            if result is not None
            else 0
        )
        usage = Answer(
            model=model,
            preset=preset,
            params=params,
            success=error is None,
            error_kind=error.kind.value if error else None,
            category=self.category(turn),
        )
        if result is not None and result.finish_reason == FinishReason.STOPPED:  # the user did not wait for it
            usage.success, usage.error_kind = False, "stopped"
        if result is not None:
            usage.ttft_s, usage.latency_s = result.ttft_s, result.latency_s
            usage.prompt_tokens, usage.completion_tokens = result.prompt_tokens, result.completion_tokens
        self.db.record_usage(self.state.session_id, mid or None, source, usage)
        if result is not None:
            for lang, body in CODE_BLOCK.findall(text):
                title = next((ln.strip("#/ ") for ln in body.splitlines() if ln.strip()), "code")[:60]
                self.db.add_artifact(self.state.session_id, mid, lang or None, title, body)
        return mid

    async def ask(self, text: str, on_token: Callable[[str], object] | None = None) -> tuple[ChatResult | None, str]:
        """The main model's answer to a new user turn; the other models start answering in the background."""
        assert self.state is not None
        self.state.turn += 1
        turn = self.state.turn
        self.state.categories[turn] = self.state.category_override or classify(text)
        self.db.add_message(self.state.session_id, turn, "user", text)
        messages = self.messages()
        await self._yield_title()
        # The main model takes its slot first; the others of the execution order start now and answer alongside
        # it as far as concurrentLimit allows (the specification: priority 2 runs at once with a limit of 2,
        # priority 3 waits).
        await self.slots.acquire(MAIN)
        for model in self.active.execution_order:
            if model != self.state.model and model in self.installed:
                self._background(self._cross_check(model, messages, turn))
        parts: list[str] = []
        try:
            result = await self._answer(self.state.model, messages, _tee(parts, on_token))
        except EngineError as exc:
            self._record(self.state.model, turn, "main", None, exc)
            return None, str(exc)
        except asyncio.CancelledError:  # stopped by the user (Ctrl-C): what streamed so far is this turn's answer
            result = ChatResult(
                text="".join(parts), finish_reason=FinishReason.STOPPED, model=self.state.model, endpoint=""
            )
            self._record(self.state.model, turn, "main", result, None, result.text)
            raise
        finally:
            self.slots.release()
            self._resume_title()
        self._record(self.state.model, turn, "main", result, None, result.text)
        if turn == 1:
            self.db.set_title(self.state.session_id, _title(text))  # at once; the model's title replaces it
            if self.titles:
                self._start_title(self.state.model, text, result.text)
        return result, result.text

    def _start_title(self, model: str, question: str, answer: str) -> None:
        self.title_task = asyncio.create_task(self._name_session(model, question, answer))
        self.tasks.add(self.title_task)
        self.title_task.add_done_callback(self.tasks.discard)
        self.title_after = (model, question, answer)

    async def _yield_title(self) -> None:
        """A title still being written gives way to the user's question (its request is dropped, the engine's slot
        freed) and is written again after that answer: naming a session never delays an answer."""
        task = self.title_task
        if task is None or task.done():
            self.title_after = None
            return
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    def _resume_title(self) -> None:
        if self.title_after is not None and self.title_task is not None and self.title_task.cancelled():
            self._start_title(*self.title_after)

    def _background(self, work: Any) -> None:
        task = asyncio.create_task(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _name_session(self, model: str, question: str, answer: str) -> None:
        """セッションタイトルの自動生成: the main model names the session after its first answer, in the background
        and within concurrentLimit; a failed or empty answer keeps the first-line title."""
        assert self.state is not None
        sid = self.state.session_id
        prompt = (
            f"次の会話に、20文字以内の短い日本語のタイトルを付けてください。タイトルだけを答えてください。\n\n"
            f"質問: {question[:500]}\n回答: {answer[:500]}"
        )
        async with self.slots.slot(BACKGROUND):
            try:
                result = await self.engine.chat(model, prompt, SamplingParams(temperature=0.0, max_tokens=32))
            except EngineError:
                return
        title = clean_title(result.text)
        if title and (self.db.session(sid) or {}).get("title") == _title(question):  # not renamed by /title since
            self.db.set_title(sid, title)

    async def _cross_check(self, model: str, messages: list[Message], turn: int) -> None:
        assert self.state is not None
        async with self.slots.slot(BACKGROUND):
            try:
                result = await self._answer(model, messages, None)
            except EngineError as exc:
                self._record(model, turn, "background", None, exc)
                return
            self._record(model, turn, "background", result, None, result.text)
            answer = Background(model, turn, result.text)
            self.state.background.append(answer)
            if self.on_background is not None:
                self.on_background(answer)

    def unseen(self) -> list[Background]:
        assert self.state is not None
        return [b for b in self.state.background if not b.seen]

    async def wait_background(self) -> None:
        if self.tasks:
            await asyncio.gather(*list(self.tasks), return_exceptions=True)

    def last_answer(self) -> dict[str, Any] | None:
        assert self.state is not None
        answers = [
            m for m in self.db.history(self.state.session_id, sources=("main", "retry")) if m["role"] == "assistant"
        ]
        return answers[-1] if answers else None

    async def retry(
        self, model: str, preset: Preset | None, on_token: Callable[[str], object] | None = None
    ) -> tuple[ChatResult | None, str, int]:
        """Re-answer the last question with `model` (and `preset`); returns the new answer's message id."""
        assert self.state is not None
        last = self.last_answer()
        if last is None:
            return None, "まだ回答がありません", 0
        messages = self.messages(upto_turn=last["turn"])
        while messages and messages[-1].role == "assistant":
            messages.pop()
        if last["turn"] not in self.state.categories and messages and messages[-1].role == "user":
            self.state.categories[last["turn"]] = self.state.category_override or classify(messages[-1].content)
        saved, self.preset_override = self.preset_override, preset or self.preset_override
        await self._yield_title()
        parts: list[str] = []
        try:  # recorded under the retry's own preset: the decision reads adoption per preset
            try:
                async with self.slots.slot(MAIN):
                    result = await self._answer(model, messages, _tee(parts, on_token))
            except EngineError as exc:
                self._record(model, last["turn"], "retry", None, exc)
                return None, str(exc), 0
            except asyncio.CancelledError:  # stopped (Ctrl-C): kept, and discarded as a /retry answered no would be
                stopped = ChatResult(text="".join(parts), finish_reason=FinishReason.STOPPED, model=model, endpoint="")
                self.settle_retry(self._record(model, last["turn"], "retry", stopped, None, stopped.text), False)
                raise
            mid = self._record(model, last["turn"], "retry", result, None, result.text)
            return result, result.text, mid
        finally:
            self.preset_override = saved
            self._resume_title()

    def settle_retry(self, new_id: int, adopt: bool) -> None:
        assert self.state is not None
        old = [
            m
            for m in self.db.history(self.state.session_id, sources=("main", "retry"))
            if m["role"] == "assistant" and m["id"] != new_id
        ]
        if old:
            self.db.replace_answer(old[-1]["id"], new_id, adopt)

    async def evaluate(self, critic: str) -> str:
        """/eval: another model critiques the last answer on the specification's evaluation items."""
        assert self.state is not None
        last = self.last_answer()
        if last is None:
            return "まだ回答がありません"
        question = next(
            (
                m["content"]
                for m in reversed(self.db.history(self.state.session_id))
                if m["role"] == "user" and m["turn"] == last["turn"]
            ),
            "",
        )
        prompt = (
            f"次の質問への回答を、{'、'.join(EVAL_ITEMS)}の5項目について、それぞれ1〜5点と短い理由で"
            f"評価してください。\n\n【質問】\n{question}\n\n【回答】\n{last['content']}"
        )
        async with self.slots.slot(MAIN):
            result = await self.engine.chat(critic, prompt, SamplingParams(temperature=0.0, max_tokens=400))
        self.db.record_usage(self.state.session_id, None, "eval", Answer(model=critic, ttft_s=result.ttft_s,
                             latency_s=result.latency_s, completion_tokens=result.completion_tokens))  # fmt: skip
        return result.text


def _tee(parts: list[str], on_token: Callable[[str], object] | None) -> Callable[[str], object]:
    """Keep every streamed piece (an answer stopped midway keeps what was shown) and pass it on."""

    def token(piece: str) -> None:
        parts.append(piece)
        if on_token is not None:
            on_token(piece)

    return token


def permanent_system_path() -> Path:
    """Level-1 knowledge injection: an extra system prompt for every session, next to the custom settings."""
    return default_custom_path().with_name("system.txt")


def permanent_system() -> str | None:
    path = permanent_system_path()
    if not path.is_file():
        return None
    try:
        return path.read_text(encoding="utf-8").strip() or None
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 ({exc.reason} at byte {exc.start})") from exc


def clean_title(text: str) -> str:
    """A model's title as a title: its first non-empty line, without a "タイトル:" label, quotes or markdown, at
    most 30 characters."""
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    line = line.strip("#*_` 　")
    line = re.sub(r"^(?:タイトル|title)\s*[:：]\s*", "", line, flags=re.IGNORECASE)
    line = line.strip("#*_`'\"「」『』【】 　")
    return line[:30]


def _title(first_question: str) -> str:
    """A session title from the first question: its first line, shortened."""
    line = first_question.strip().splitlines()[0] if first_question.strip() else "新しいセッション"
    return line[:30] + ("…" if len(line) > 30 else "")
