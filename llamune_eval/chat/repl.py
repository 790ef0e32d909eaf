"""The terminal front end of `llamune chat`: reads lines, streams answers, runs slash commands."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

from rich.markup import escape

from llamune_eval import egress
from llamune_eval.categories import CATEGORIES
from llamune_eval.chat import instant
from llamune_eval.chat.commands import handlers, help_text
from llamune_eval.chat.outputs import OutputCommands, _reason
from llamune_eval.chat.runtime import ChatRuntime, permanent_system, permanent_system_path
from llamune_eval.chat.settings_cmd import SettingsCommands, Sources
from llamune_eval.chat.share_cmd import SharingCommands
from llamune_eval.lines import PlainReader
from llamune_eval.presets import BUILTIN
from llamune_eval.types import ChatResult, InputError
from llamune_eval.ui import console

if TYPE_CHECKING:
    from llamune_eval.chat.share import Sharing

T = TypeVar("T")
YES = ("yes", "y", "はい")  # the specification's answers (はい / いいえ too: Japanese input is often on)
NO = ("no", "n", "いいえ")


def _echo(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


async def _stoppable(work: Coroutine[Any, Any, T]) -> tuple[bool, T | None]:
    """Run an answer so that Ctrl-C stops it, not the session: (True, None) when stopped. Off the main thread or
    where the loop cannot take signals, Ctrl-C keeps its usual meaning."""
    task = asyncio.ensure_future(work)
    loop = asyncio.get_running_loop()
    try:
        loop.add_signal_handler(signal.SIGINT, task.cancel)
    except (NotImplementedError, RuntimeError, ValueError):
        return False, await task
    try:
        await asyncio.wait({task})
    finally:
        loop.remove_signal_handler(signal.SIGINT)
    if task.cancelled():
        return True, None
    return False, task.result()


def _stats(result: ChatResult) -> None:
    """The line under every answer: who answered, how much, how fast."""
    console.print(
        f"[dim]{escape(result.model)} · {result.completion_tokens} tokens · "
        f"TTFT {result.ttft_s or 0:.2f}s · {result.tokens_per_s or 0:.1f} tok/s[/]"
    )


class Repl(OutputCommands, SharingCommands, SettingsCommands):  # SharingCommands first: its channel_status
    def __init__(
        self,
        runtime: ChatRuntime,
        read: Callable[[str], str] | None = None,
        recommended_dir: Path = Path("recommended"),
        history: Path | None = None,
        *,
        sources: Sources | None = None,
        sharing: Sharing | Callable[[], Sharing] | None = None,
    ) -> None:
        self.rt = runtime
        self.sources = sources or Sources(recommended_dir)
        self.sharing = None if callable(sharing) else sharing  # else made at first need (`SharingCommands.shared`)
        self.make_sharing = sharing if callable(sharing) else None if sharing is None else lambda: sharing
        self.starting: asyncio.Task[None] | None = None
        self.arrived: str | None = None  # a newer settings file the channel installed, not announced yet
        self.reader: Any = PlainReader(read) if read else PlainReader()
        if read is None and sys.stdin.isatty() and sys.stdout.isatty():  # a person at a terminal: the line editor
            from llamune_eval.chat.editor import LineEditor

            self.reader = LineEditor(self.words, history)
        self.answering = False  # an answer is streaming: notices wait for its end
        runtime.on_background = lambda _answer: self.notify()

    async def ask_line(self, prompt: str, *, keep: bool = False) -> str | None:
        """A line from the user; `keep` puts it in the editor's history (questions and commands, not answers to
        a yes/no question or a menu)."""
        return cast(str | None, await self.reader.read(prompt, keep=keep))

    def words(self, command: str) -> list[str]:
        """What the editor offers after a slash command, from the session as it is now."""
        return self.argument_words().get(command, [])

    def argument_words(self) -> dict[str, list[str]]:
        """The words each command that takes one is completed with (keys: names of `commands.COMMANDS`)."""
        state = self.rt.state
        turns = [str(n) for n in range(state.turn, 0, -1)] if state is not None else []
        return {
            "/switch": self.rt.installed,
            "/eval": self.rt.installed,
            "/preset": list(BUILTIN),
            "/category": [*CATEGORIES, "auto"],
            "/settings": ["apply", "keep"],
            "/artifacts": ["show", "save"],
            "/rewind": turns,
            "/system": ["--permanent"],
        }

    def header(self) -> None:
        st = egress.state()
        state = self.rt.state
        assert state is not None
        console.print(
            f"[bold]llamune[/] · {escape(state.model)} · セッション {state.session_id} · "
            f"エンジン通信 {st.engine_bytes:,} B · 外部通信 {st.external_bytes} B "
            f"(遮断 {len(st.refused)} 件)"
        )

    def notify(self) -> None:
        """The specification's notice, once per arrived answer: show it with /others, or simply go on (ignore); and,
        the same way, a newer settings file the channel delivered."""
        if self.answering:  # never inside a streaming answer: it is told when that answer ends
            return
        self.announce()
        fresh = self.rt.unseen()
        if fresh:
            names = escape(", ".join(dict.fromkeys(b.model for b in fresh)))
            console.print(
                f"[cyan]他のLLMからも回答が届きました（{names}）: /others で表示 · 続けて入力すれば無視します[/]"
            )
            for b in fresh:
                b.seen = True

    async def run(self) -> None:
        instant.clear()
        self.header()
        await self.quarterly_card()
        if self.rt.active.newer is not None:
            console.print(f"[yellow]新しい推奨設定 {self.rt.active.newer.new_version} があります[/]: /settings で詳細")
        console.print("/help でコマンド一覧")
        self.start_sharing()
        while True:
            self.notify()
            line = await self.ask_line("> ", keep=True)
            if line is None:
                break
            line = line.strip()
            if not line:
                continue
            if line.startswith("/"):
                if await self.command(line) == "quit":
                    break
                continue
            await self.chat(line)
        await self.rt.wait_background()
        self.notify()
        await self.send_at_exit()
        st = egress.state()  # measured on every connection the engine clients opened this session
        console.print(f"通信量: エンジン {st.engine_bytes:,} B · 外部 {st.external_bytes:,} B", highlight=False)

    async def chat(self, text: str) -> None:
        self.answering = True
        try:
            stopped, outcome = await _stoppable(self.rt.ask(text, on_token=_echo))
        except InputError as exc:  # system.txt became unreadable during the session: say so, keep the session
            console.print(f"[red]エラー:[/] {escape(str(exc))}")
            return
        finally:
            self.answering = False
        sys.stdout.write("\n")
        if stopped or outcome is None:
            console.print("[dim]（回答を止めました: ここまでを回答として残します）[/]")
            self.notify()
            return
        result, answer = outcome
        if result is None:
            console.print(f"[red]エラー:[/] {escape(str(answer))}")
        else:
            _stats(result)
        self.notify()  # cross-checks that finished while this answer streamed

    async def command(self, line: str) -> str | None:
        name, _, arg = line.partition(" ")
        arg = arg.strip()
        method = handlers().get(name)
        if method is None:
            console.print(f"[yellow]不明なコマンド {escape(name)}[/]: /help で一覧を表示")
            return None
        handler: Callable[[str], Awaitable[str | None]] = getattr(self, method)
        return await handler(arg)

    async def c_help(self, arg: str) -> None:
        console.print(help_text(), markup=False)

    async def c_quit(self, arg: str) -> str:
        return "quit"

    async def c_history(self, arg: str) -> None:
        state = self.rt.state
        assert state is not None
        for m in self.rt.db.history(state.session_id, sources=("main", "retry")):
            who = "あなた" if m["role"] == "user" else m["model"]
            console.print(f"[bold]{m['turn']}. {escape(str(who))}[/]: {escape(str(m['content']))}", highlight=False)

    async def c_others(self, arg: str) -> None:
        state = self.rt.state
        assert state is not None
        if not state.background:
            console.print("他のLLMの回答はまだありません")
        for i, b in enumerate(state.background, 1):
            console.print(f"[bold]{i}. {escape(b.model)}[/]（質問 {b.turn}）\n{escape(b.text)}", highlight=False)
            b.seen = True

    async def c_models(self, arg: str) -> None:
        recommended = {m.name for m in self.rt.active.models}
        for name in self.rt.installed:
            mark = "★" if name in recommended else " "
            console.print(f"{mark} {escape(name)}")
        console.print("★ = この端末向けの推奨設定に含まれるモデル")

    async def c_switch(self, arg: str) -> None:
        state = self.rt.state
        assert state is not None
        if arg not in self.rt.installed:
            console.print(f"[yellow]モデル {escape(arg or '(なし)')} はありません[/]: /models で一覧を表示")
            return
        state.model = arg
        self.rt.db.update_session(state.session_id, model=arg)
        console.print(f"メインのモデルを {escape(arg)} に切り替えました")

    async def c_preset(self, arg: str) -> None:
        if arg not in BUILTIN:
            console.print(f"[yellow]プリセット {escape(arg or '(なし)')} はありません[/]: {', '.join(BUILTIN)}")
            return
        self.rt.preset_override = BUILTIN[arg]
        assert self.rt.state is not None
        self.rt.db.update_session(self.rt.state.session_id, preset=arg)
        console.print(f"プリセットを {escape(arg)} にしました")

    async def confirm(self, question: str, yes: str, no: str) -> bool:
        """The specification's yes/no question: yes / y / はい or no / n / いいえ; anything else is asked again
        (three times at most), and end of input is no."""
        console.print(f"{question}\n  yes, y - {yes}\n  no, n  - {no}", markup=False, highlight=False)
        for _ in range(3):
            answer = await self.ask_line("> ")
            if answer is None:
                return False
            word = answer.strip().lower()
            if word in YES or word in NO:
                return word in YES
            console.print("yes / y / はい か no / n / いいえ で答えてください", markup=False)
        return False

    async def c_rewind(self, arg: str) -> None:
        state = self.rt.state
        assert state is not None
        if not arg.isdecimal() or not 1 <= int(arg) <= state.turn:
            console.print(f"[yellow]/rewind N[/]: N は 1〜{state.turn} の質問番号です")
            return
        n = int(arg)
        if not await self.confirm(
            f"⚠️ 会話 #{n} まで巻き戻しますか？", f"実行（往復 #{n + 1} 以降を削除）", "キャンセル"
        ):
            console.print("キャンセルしました")
            return
        hidden = self.rt.db.rewind(state.session_id, n)
        state.turn = n
        console.print(
            f"✅ 会話 #{n} まで巻き戻しました\n削除されたメッセージ: {hidden}件（記録は残ります）", markup=False
        )

    async def c_retry(self, arg: str) -> None:
        state = self.rt.state
        assert state is not None
        options = [(m, p) for m in self.rt.installed for p in ("settings", *BUILTIN)]
        current = (state.model, self.rt.preset_override.name if self.rt.preset_override else "settings")
        for i, (m, p) in enumerate(options, 1):
            console.print(f" {i}. {m} ({p})" + (" ⭐" if (m, p) == current else ""), markup=False, highlight=False)
        choice = await self.ask_line("番号を選んでください: ")
        if not choice or not choice.strip().isdecimal() or not 1 <= int(choice) <= len(options):
            console.print(f"[yellow]1〜{len(options)} の番号を入力してください[/]")
            return
        model, preset = options[int(choice) - 1]
        chosen = None if preset == "settings" else BUILTIN[preset]
        console.print(f"🔄 {model} ({preset}) で再実行...", markup=False, highlight=False)
        self.answering = True
        try:
            stopped, outcome = await _stoppable(self.rt.retry(model, chosen, on_token=_echo))
        finally:
            self.answering = False
        sys.stdout.write("\n")
        if stopped or outcome is None:
            console.print("[dim]（再実行を止めました: 元の回答を維持します）[/]")
            return
        result, text, new_id = outcome
        if result is None:
            console.print(f"[red]エラー:[/] {escape(str(text))}")
            return
        _stats(result)
        adopt = await self.confirm("💡 この回答を採用しますか？", "採用（新しい回答を保存）", "破棄（元の回答を維持）")
        self.rt.settle_retry(new_id, adopt)
        console.print(
            f"✅ {model} の回答を採用しました" if adopt else "破棄しました（元の回答を維持、記録は残ります）",
            markup=False,
            highlight=False,
        )

    async def c_title(self, arg: str) -> None:
        """Show the session's title (generated by the main model after the first answer), or set it."""
        state = self.rt.state
        assert state is not None
        if not arg:
            title = (self.rt.db.session(state.session_id) or {}).get("title") or "(まだありません)"
            console.print(f"タイトル: {title}", markup=False, highlight=False)
            return
        self.rt.db.set_title(state.session_id, arg[:100])
        console.print(f"タイトルを「{arg[:100]}」にしました", markup=False, highlight=False)

    async def c_category(self, arg: str) -> None:
        """Show the category of the last question, or set it (this turn and the session's next ones)."""
        state = self.rt.state
        assert state is not None
        if not arg:
            current = self.rt.category(state.turn) or "-"
            how = f"固定 {state.category_override}" if state.category_override else "自動判定"
            console.print(
                f"直前の質問の種別: {current}（{how}）· 種別: {', '.join(CATEGORIES)} · /category auto で自動",
                markup=False,
            )
            return
        if arg != "auto" and arg not in CATEGORIES:
            console.print(f"[yellow]種別 {escape(arg)} はありません[/]: {', '.join(CATEGORIES)}, auto", highlight=False)
            return
        self.rt.set_category(None if arg == "auto" else arg)
        console.print(
            "種別を自動判定に戻しました" if arg == "auto" else f"種別を {escape(arg)} にしました（直前と以降の質問）"
        )

    async def c_system(self, arg: str) -> None:
        state = self.rt.state
        assert state is not None
        if not arg:
            try:
                permanent = permanent_system() or "(なし)"
            except InputError as exc:
                permanent = f"(読めません: {exc})"
            current = state.system_extra or "(なし)"
            console.print(f"現在のシステムプロンプト: {current} · 常時: {permanent}", markup=False)
            return
        if arg.startswith("--permanent"):
            text = arg.removeprefix("--permanent").strip()
            path = permanent_system_path()
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text, encoding="utf-8")
            except OSError as exc:
                console.print(f"[red]保存できませんでした:[/] {escape(str(path))}: {escape(_reason(exc))}")
                return
            console.print(f"すべてのセッションのシステムプロンプトを設定しました（{escape(str(path))}）")
            return
        state.system_extra = arg
        self.rt.db.update_session(state.session_id, system_prompt=arg)
        console.print("このセッションのシステムプロンプトを設定しました")

    async def c_eval(self, arg: str) -> None:
        from llamune_eval.types import EngineError

        state = self.rt.state
        assert state is not None
        critic = arg or next((m for m in self.rt.installed if m != state.model), state.model)
        try:
            verdict = await self.rt.evaluate(critic)
        except EngineError as exc:  # an unreachable or unknown critic ends the evaluation, not the session
            console.print(f"[red]評価できませんでした:[/] {escape(critic)}: {escape(str(exc))}")
            return
        console.print(verdict, markup=False, highlight=False)
