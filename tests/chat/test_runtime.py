"""Cross-check models answer alongside the main model within concurrentLimit, and the front end is told the
moment each answer arrives (the specification: priority 2 runs at once with a limit of 2, priority 3 waits)."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path

import pytest

from llamune_eval.chat.db import ChatDB
from llamune_eval.chat.runtime import Background, ChatRuntime
from llamune_eval.chat.slots import BACKGROUND, MAIN
from llamune_eval.presets import BUILTIN
from llamune_eval.settings import Active, LLMParameters, ModelConfig
from llamune_eval.types import ChatResult, FinishReason, Message, SamplingParams

ORDER = ["main", "second", "third"]


class GatedEngine:
    """Answers at once, except the models (and "title", the session-title request) in `gated`: each of their answers
    waits until the test releases it. Records the order of starts and ends and how many ran at once; `until` waits
    for a state of them, so no test waits on a clock."""

    def __init__(self, gated: Iterable[str] = ()) -> None:
        self.gated = set(gated)
        self.events: list[tuple[str, str]] = []
        self.running = 0
        self.most = 0
        self.gates: dict[str, list[asyncio.Event]] = {}
        self.waiters: list[tuple[Callable[[], bool], asyncio.Future[None]]] = []

    def starts(self) -> list[str]:
        return [m for kind, m in self.events if kind == "start"]

    def _note(self, kind: str, model: str) -> None:
        self.events.append((kind, model))
        for check, done in self.waiters:
            if not done.done() and check():
                done.set_result(None)

    async def until(self, check: Callable[[], bool], what: str) -> None:
        """Wait until `check()` holds after an event; fails (never falls through) if it does not come."""
        if check():
            return
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiters.append((check, done))
        try:
            await _within(done, f"{what} (events: {self.events})")
        finally:
            self.waiters.remove((check, done))

    def release(self, name: str) -> None:
        """Let the oldest waiting answer of `name` end."""
        waiting = self.gates.get(name)
        assert waiting, f"no answer of {name} is waiting (events: {self.events})"
        waiting.pop(0).set()

    async def _gate(self, name: str) -> None:
        if name not in self.gated:
            return
        gate = asyncio.Event()
        self.gates.setdefault(name, []).append(gate)
        try:
            await gate.wait()
        finally:  # dropped (a title giving way, Ctrl-C): no longer waiting
            if gate in self.gates[name]:
                self.gates[name].remove(gate)

    async def chat(self, model: str, messages: list[Message] | str, params: SamplingParams | None = None,
                   on_token: Callable[[str], object] | None = None) -> ChatResult:  # fmt: skip
        if isinstance(messages, str) and "タイトル" in messages:  # the session-title request
            self._note("title", model)
            await self._gate("title")
            self._note("titled", model)
            return ChatResult(text="タイトル: 「会議時刻の変更」\n", finish_reason=FinishReason.STOP, model=model,
                              endpoint="gated")  # fmt: skip
        self.running += 1
        self.most = max(self.most, self.running)
        self._note("start", model)
        try:
            if on_token is not None:
                on_token(f"{model}の")  # the first piece at once, the rest when the answer ends
            await self._gate(model)
        finally:
            self.running -= 1
        self._note("end", model)
        return ChatResult(text=f"{model}の答え", finish_reason=FinishReason.STOP, model=model, endpoint="gated",
                          completion_tokens=3, ttft_s=0.01, latency_s=0.02)  # fmt: skip


def _runtime(tmp_path: Path, engine: GatedEngine, limit: int, titles: bool = True) -> ChatRuntime:
    params = LLMParameters(temperature=0.2, top_p=0.9)
    models = [ModelConfig(name=m, priority=i, purpose="p", parameters=params) for i, m in enumerate(ORDER, 1)]
    active = Active(source="recommended", version="2026-Q1", models=models, execution_order=ORDER,
                    concurrent_limit=limit, reason="test")  # fmt: skip
    runtime = ChatRuntime(engine, ChatDB(tmp_path / "chat.sqlite"), active, list(ORDER),  # type: ignore[arg-type]
                          titles=titles)  # fmt: skip
    runtime.start()
    return runtime


async def _within(work: Awaitable[object], what: str) -> None:
    """Await `work`; if it never comes (a gate the test did not open), fail instead of hanging. The 30 s only guard
    against a hang: no test measures time."""
    try:
        async with asyncio.timeout(30):
            await work
    except TimeoutError:
        raise AssertionError(f"never: {what}") from None


async def _settled(runtime: ChatRuntime) -> None:
    await _within(runtime.wait_background(), "every background answer done")


@pytest.mark.parametrize("limit", [1, 2, 3])
async def test_cross_checks_run_alongside_the_main_model_within_the_limit(tmp_path: Path, limit: int) -> None:
    engine = GatedEngine(ORDER)  # every answer ends when the test says
    runtime = _runtime(tmp_path, engine, limit)
    told: list[tuple[str, bool]] = []
    runtime.on_background = lambda b: told.append((b.model, ("end", "main") in engine.events))
    asking = asyncio.create_task(runtime.ask("質問です"))
    await engine.until(lambda: len(engine.starts()) >= limit, f"{limit} answers started")
    assert engine.starts() == ORDER[:limit]  # as many at once as the limit allows, and no more
    if limit == 1:  # the cross-checks wait for the main answer's slot
        engine.release("main")
        result, text = await asking
    for model in ("second", "third"):  # each cross-check ends; with room, the main answer is still running
        await engine.until(lambda: model in engine.starts(), f"{model} started")  # noqa: B023 (awaited here)
        engine.release(model)
        await engine.until(lambda: ("end", model) in engine.events, f"{model} ended")  # noqa: B023
    if limit > 1:
        engine.release("main")
        result, text = await asking
    await _settled(runtime)
    assert result is not None and text == "mainの答え"
    assert engine.most == limit  # never more models at once than concurrentLimit, and as many as it allows
    starts = [m for kind, m in engine.events if kind == "start"]
    assert starts[0] == "main"  # the main model always has its slot first
    ended_main = engine.events.index(("end", "main"))
    alongside = {m for kind, m in engine.events[:ended_main] if kind == "start"} - {"main"}
    assert len(alongside) == {1: 0, 2: 2, 3: 2}[limit]  # limit 2: second at once, third when second's slot frees
    assert sorted(m for m, _ in told) == ["second", "third"]
    # told the moment each arrived: with room beside the main model, before the main answer ended
    assert all(not after_main for _, after_main in told) is (limit > 1)
    assert all(isinstance(b, Background) and not b.seen for b in runtime.state.background)  # type: ignore[union-attr]


@pytest.mark.parametrize("titles", [True, False])
async def test_the_main_model_names_the_session_after_its_first_answer(tmp_path: Path, titles: bool) -> None:
    engine = GatedEngine()
    runtime = _runtime(tmp_path, engine, 3, titles=titles)
    assert runtime.state is not None
    await runtime.ask("会議の開始時刻が10時から11時に変わったことを知らせる文を書いて")
    await runtime.ask("もっと短く")
    await runtime.wait_background()
    title = (runtime.db.session(runtime.state.session_id) or {})["title"]
    asked = [m for kind, m in engine.events if kind == "title"]
    if titles:
        assert (title, asked) == ("会議時刻の変更", ["main"])  # once, by the main model, label and quotes removed
    else:  # no extra request: the first line of the first question, shortened
        assert (title, asked) == ("会議の開始時刻が10時から11時に変わったことを知らせる文を…", [])


async def test_a_title_being_written_gives_way_to_the_next_question(tmp_path: Path) -> None:
    """The title request holds the only slot when the user asks again: it is dropped at once and written after
    that answer, so naming the session never delays an answer."""
    engine = GatedEngine({"title"})
    runtime = _runtime(tmp_path, engine, 1)
    runtime.active.execution_order = ["main"]
    await runtime.ask("会議の開始時刻が変わったことを知らせる文を書いて")
    await engine.until(lambda: ("title", "main") in engine.events, "the title being written")
    await runtime.ask("もっと短く")
    await engine.until(lambda: engine.events.count(("title", "main")) == 2, "the title asked again")
    engine.release("title")
    await _settled(runtime)
    assert engine.events == [("start", "main"), ("end", "main"), ("title", "main"),  # dropped: no "titled"
                             ("start", "main"), ("end", "main"), ("title", "main"), ("titled", "main")]  # fmt: skip
    assert runtime.state is not None
    assert (runtime.db.session(runtime.state.session_id) or {})["title"] == "会議時刻の変更"


async def test_the_users_question_goes_before_cross_checks_still_waiting(tmp_path: Path) -> None:
    """concurrentLimit 1: the second question's main answer is served before the first question's third model,
    which was queued earlier (a running answer is never cut short)."""
    engine = GatedEngine({"second", "third"})
    runtime = _runtime(tmp_path, engine, 1, titles=False)
    await runtime.ask("一つ目")
    await engine.until(lambda: "second" in engine.starts(), "second answering the first question")
    asked = asyncio.Event()

    async def second_question() -> None:
        asked.set()  # ask() runs without a pause up to the slot it waits for
        await runtime.ask("二つ目")

    answered = asyncio.create_task(second_question())
    await asked.wait()
    assert sorted(priority for priority, _, _ in runtime.slots.waiting) == [MAIN, BACKGROUND]  # third queued first
    engine.release("second")
    await answered
    for model, n in (("third", 1), ("second", 2), ("third", 2)):  # then the second question's cross-checks
        await engine.until(lambda: engine.starts().count(model) == n, f"{model} #{n}")  # noqa: B023 (awaited here)
        engine.release(model)
    await _settled(runtime)
    assert engine.starts() == ["main", "second", "main", "third", "second", "third"]
    assert engine.most == 1


async def test_a_resumed_session_answers_with_the_preset_it_was_left_with(tmp_path: Path) -> None:
    """/preset is the session's: resuming it (`llamune --resume`) sends the preset's parameters again, and a new
    session starts from the settings."""
    engine = GatedEngine()
    runtime = _runtime(tmp_path, engine, 1, titles=False)
    assert runtime.state is not None
    first = runtime.state.session_id
    runtime.preset_override = BUILTIN["creative"]
    runtime.db.update_session(first, preset="creative")  # what /preset creative stores
    runtime.start()  # a new session
    assert runtime.preset_override is None
    runtime.start(first)
    assert runtime.preset_override is BUILTIN["creative"]
    await runtime.ask("こんにちは")
    [event] = [e for e in runtime.db.usage() if e["kind"] == "main"]
    assert event["preset"] == "creative"
    assert json.loads(event["params"]) == BUILTIN["creative"].params.model_dump(mode="json")


def test_clean_title() -> None:
    from llamune_eval.chat.runtime import clean_title

    assert clean_title("\n**Title: 「見積もりの依頼」**\n説明") == "見積もりの依頼"
    assert clean_title("# 議事録の要約") == "議事録の要約"
    assert clean_title("") == "" and len(clean_title("あ" * 50)) == 30


async def test_rate_records_the_three_five_level_criteria_and_usage_metrics_read_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from llamune_eval.chat.repl import Repl
    from llamune_eval.store.results import Store
    from llamune_eval.usage import ingest
    from llamune_eval.usage.metrics import usage_metrics

    engine = GatedEngine()
    runtime = _runtime(tmp_path, engine, 1, titles=False)
    lines = iter(["質問1", "/rate 5 4 3 とても 役立った", "質問2", "/rate", "2", "", "5", "/rate 9 1 1", "/rate abc",
                  "/good", "/quit"])  # fmt: skip

    def read(prompt: str) -> str:
        try:
            return next(lines)
        except StopIteration:
            raise EOFError from None

    await Repl(runtime, read=read, recommended_dir=tmp_path / "recommended").run()
    out = capsys.readouterr().out
    assert "評価を記録しました（回答の正確性 5 · 日本語の自然さ 4 · 有用性 3）" in out
    assert "評価を記録しました（回答の正確性 2 · 有用性 5）" in out
    assert "回答の正確性 は 1〜5 の数字です" in out and "それぞれ 1〜5 の数字です" in out
    mains = [e for e in runtime.db.usage() if e["kind"] == "main"]
    assert [(e["accuracy"], e["naturalness"], e["usefulness"], e["comment"], e["rating"]) for e in mains] == [
        (5, 4, 3, "とても 役立った", None), (2, None, 5, None, 1)]  # fmt: skip
    runtime.db.close()
    with Store(tmp_path / "s.duckdb") as store:
        ingest(store, [tmp_path / "chat.sqlite"])
        human = usage_metrics(store)["modelUsage"]["main"]["humanEvaluation"]
    assert human == {"accuracy": 3.5, "naturalness": 4.0, "usefulness": 4.0, "rated": 2}


async def test_the_quarterly_update_card_is_shown_once_per_new_settings_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from llamune_eval.chat.repl import Repl
    from llamune_eval.settings import QuarterlyUpdate

    engine = GatedEngine()
    runtime = _runtime(tmp_path, engine, 1, titles=False)
    runtime.active.update = QuarterlyUpdate(newVersion="2026-Q2", oldVersion="2026-Q1", newModels=["third"],
                                            deprecatedModels=["old"],
                                            performanceImprovements="推論速度 12%向上")  # fmt: skip

    def nothing(prompt: str) -> str:
        raise EOFError

    await Repl(runtime, read=nothing).run()
    first = capsys.readouterr().out
    for line in ("🎉 新しい推奨設定 (2026 Q2)", "✨ third を追加", "🗑  old を廃止", "⚡ 推論速度 12%向上",
                 "推奨設定を使用中のため、この設定が適用されています"):  # fmt: skip
        assert line in first, line
    assert "[今すぐ適用]" not in first  # users on the recommendation have nothing to choose
    await Repl(runtime, read=nothing).run()
    assert "新しい推奨設定" not in capsys.readouterr().out  # once per settings file
    runtime.active.update = QuarterlyUpdate(newVersion="2026-Q3")
    await Repl(runtime, read=nothing).run()
    assert "🎉 新しい推奨設定 (2026 Q3)" in capsys.readouterr().out  # the next file is shown again


async def test_applying_a_newer_recommendation_changes_who_answers_and_lasts_until_the_custom_file_is_edited(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from llamune_eval.chat.repl import Repl
    from llamune_eval.chat.settings_cmd import Sources, choose_settings
    from tests.chat._settings_files import recommended_file

    custom = tmp_path / "settings.toml"
    custom.write_text('basedOn = "2026-Q1"\nconcurrentLimit = 1\nexecutionOrder = ["main", "second"]\n'
                      '[[models]]\nname = "main"\npriority = 1\npurpose = "p"\n[models.parameters]\n'
                      'temperature = 0.0\ntop_p = 1.0\n', encoding="utf-8")  # fmt: skip
    os.utime(custom, (time.time() - 60, time.time() - 60))  # written a minute ago
    folder = tmp_path / "recommended"
    recommended_file(folder, "2026-Q1", ORDER)
    db = ChatDB(tmp_path / "chat.sqlite")
    active = choose_settings(db, Sources(folder, custom))
    assert (active.source, active.execution_order, active.newer) == ("custom", ["main", "second"], None)
    engine = GatedEngine({"third"})
    runtime = ChatRuntime(engine, db, active, list(ORDER), titles=False)  # type: ignore[arg-type]
    runtime.start()

    async def third_answers_once_main_runs_beside_it() -> None:
        await engine.until(lambda: engine.starts() == ["third", "main"], "main cross-checking beside third")
        engine.release("third")

    beside = asyncio.create_task(third_answers_once_main_runs_beside_it())
    lines = iter(["/settings", "/settings apply", "質問です", "/quit"])

    def read(prompt: str) -> str:
        if not (folder / "2026-Q2.json").exists():  # published while the session runs
            recommended_file(folder, "2026-Q2", ["third", "main"], limit=2)
        try:
            return next(lines)
        except StopIteration:
            raise EOFError from None

    await Repl(runtime, read=read, recommended_dir=folder).run()
    await beside
    out = capsys.readouterr().out
    assert "新しい推奨設定 2026-Q2 があります: 追加 - · 廃止 -" in out
    assert "推奨設定 2026-Q2 に切り替えました（recommended 2026-Q2, tier 1 GB for this machine's" in out
    assert out.split("に切り替えました", 1)[1].split("\n", 1)[0].endswith("· メインのモデル: third")
    # the new main model answers, the old one alongside it: concurrentLimit 2 now
    assert [e for e in engine.events if e[0] == "start"] == [("start", "third"), ("start", "main")]
    assert engine.most == 2
    assert runtime.state is not None and (db.session(runtime.state.session_id) or {})["model"] == "third"
    assert custom.read_text(encoding="utf-8").startswith('basedOn = "2026-Q1"')  # their file is left as it was
    # the next session starts on the recommendation; editing the custom file brings it back
    later = choose_settings(db, Sources(folder, custom))
    assert (later.source, later.version, later.execution_order) == ("recommended", "2026-Q2", ["third", "main"])
    assert later.reason.endswith(f"(/settings apply で選択; {custom} はその後変更されていません)")
    custom.write_text(custom.read_text(encoding="utf-8"), encoding="utf-8")
    assert choose_settings(db, Sources(folder, custom)).source == "custom"
    db.close()


async def test_a_retry_is_recorded_under_its_own_preset(tmp_path: Path) -> None:
    """The decision reads /retry adoption per preset: a retry with `code` is a `code` event with code's params."""
    from llamune_eval.presets import BUILTIN

    engine = GatedEngine()
    runtime = _runtime(tmp_path, engine, 1, titles=False)
    await runtime.ask("質問です")
    result, _text, new_id = await runtime.retry("second", BUILTIN["code"])
    assert result is not None and new_id
    [event] = [e for e in runtime.db.usage() if e["kind"] == "retry"]
    assert (event["model"], event["preset"]) == ("second", "code")
    assert json.loads(event["params"]) == BUILTIN["code"].params.model_dump(mode="json")
    assert runtime.preset_override is None  # the session's own preset is back


async def test_ctrl_c_stops_the_answer_and_keeps_what_streamed(tmp_path: Path) -> None:
    """A real SIGINT while the main answer streams: the answer stops, the session goes on, the turn keeps the text
    shown so far (the conversation still alternates) and its usage event says it was stopped."""
    import signal

    from llamune_eval.chat.repl import _stoppable

    engine = GatedEngine({"main"})  # the answer streams until it is stopped
    runtime = _runtime(tmp_path, engine, 1, titles=False)
    runtime.active.execution_order = ["main"]
    shown: list[str] = []
    stopping = asyncio.create_task(_stoppable(runtime.ask("長い質問", on_token=shown.append)))
    await engine.until(lambda: engine.starts() == ["main"], "the answer streaming")
    os.kill(os.getpid(), signal.SIGINT)
    stopped, outcome = await stopping
    assert (stopped, outcome, shown) == (True, None, ["mainの"])
    assert runtime.state is not None
    history = runtime.db.history(runtime.state.session_id)
    assert [(m["role"], m["content"]) for m in history] == [("user", "長い質問"), ("assistant", "mainの")]
    [event] = runtime.db.usage()
    assert (event["kind"], event["success"], event["error_kind"]) == ("main", 0, "stopped")
    assert runtime.slots.free == 1  # its slot is free for the next question
    engine.gated.clear()
    result, text = await runtime.ask("次の質問")
    assert result is not None and text == "mainの答え"


async def test_ctrl_c_stops_a_retry_and_the_answer_in_force_stays(tmp_path: Path) -> None:
    import signal

    from llamune_eval.chat.repl import _stoppable

    engine = GatedEngine({"second"})  # the retry streams until it is stopped
    runtime = _runtime(tmp_path, engine, 1, titles=False)
    runtime.active.execution_order = ["main"]
    await runtime.ask("質問です")
    stopping = asyncio.create_task(_stoppable(runtime.retry("second", None)))
    await engine.until(lambda: engine.starts() == ["main", "second"], "the retry streaming")
    os.kill(os.getpid(), signal.SIGINT)
    stopped, _ = await stopping
    assert stopped
    assert runtime.state is not None
    in_force = [(m["model"], m["content"]) for m in runtime.db.history(runtime.state.session_id, sources=("main",
                "retry")) if m["role"] == "assistant"]  # fmt: skip
    assert in_force == [("main", "mainの答え")]  # the stopped retry is kept, as a discarded one
    kept = runtime.db.history(runtime.state.session_id, include_deleted=True, sources=("retry",))
    assert [(m["content"], m["deleted_reason"], m["adopted"]) for m in kept] == [("secondの", "retry", 0)]
