"""What users keep from answers: their ratings (/rate, /good, /bad) and the code blocks (/artifacts)."""

from __future__ import annotations

from pathlib import Path

from rich.markup import escape

from llamune_eval.chat.runtime import ChatRuntime
from llamune_eval.records import RATING_CRITERIA
from llamune_eval.ui import console

RATE_LEVELS = tuple(RATING_CRITERIA.items())  # (column, label) of each /rate criterion


def _reason(exc: Exception) -> str:
    """Why a file could not be read or written, without the path the message already shows."""
    return getattr(exc, "strerror", None) or str(exc)


class OutputCommands:
    """Slash commands of the REPL that rate answers or save their code; the REPL supplies the reading."""

    rt: ChatRuntime

    async def ask_line(self, prompt: str, *, keep: bool = False) -> str | None:
        raise NotImplementedError

    async def confirm(self, question: str, yes: str, no: str) -> bool:
        raise NotImplementedError

    async def _rate(self, rating: int, comment: str) -> None:
        last = self.rt.last_answer()
        if last is None:
            console.print("[yellow]評価する回答がありません[/]")
            return
        self.rt.db.rate(last["id"], rating, comment or None)
        console.print("評価を記録しました")

    async def c_rate(self, arg: str) -> None:
        """人間評価: 回答の正確性, 日本語の自然さ, 有用性, 1-5 each, typed at once (`/rate 5 4 4 comment`) or asked
        one by one (Enter leaves a criterion out)."""
        last = self.rt.last_answer()
        if last is None:
            console.print("[yellow]評価する回答がありません[/]")
            return
        words = arg.split(maxsplit=3)
        given = [w for w in words[:3] if w.isdecimal()]
        comment = arg.split(maxsplit=len(given))[len(given)] if len(arg.split()) > len(given) else ""
        if arg and not given:
            console.print(
                "[yellow]/rate 正確性 自然さ 有用性 [コメント][/]: それぞれ 1〜5 の数字です（例: /rate 5 4 4）"
            )
            return
        levels: dict[str, int] = {}
        for i, (column, label) in enumerate(RATE_LEVELS):
            if given:
                answer: str | None = given[i] if i < len(given) else ""
            else:
                answer = await self.ask_line(f"{label}（1〜5、Enter で省略）: ")
            word = (answer or "").strip()
            if not word:
                continue
            if not word.isdecimal() or not 1 <= int(word) <= 5:
                console.print(f"[yellow]{label} は 1〜5 の数字です[/]: 評価は記録しませんでした")
                return
            levels[column] = int(word)
        if not levels and not comment:
            console.print("評価は記録しませんでした")
            return
        self.rt.db.rate_levels(last["id"], levels, comment or None)
        shown = " · ".join(f"{label} {levels[c]}" for c, label in RATE_LEVELS if c in levels)
        console.print(f"評価を記録しました（{shown or 'コメントのみ'}）", markup=False, highlight=False)

    async def c_good(self, arg: str) -> None:
        await self._rate(1, arg)

    async def c_bad(self, arg: str) -> None:
        await self._rate(-1, arg)

    async def c_artifacts(self, arg: str) -> None:
        state = self.rt.state
        assert state is not None
        items = self.rt.db.artifacts(state.session_id)
        parts = arg.split()
        if not parts:
            for i, a in enumerate(items, 1):
                console.print(f"  {i}. [{a['language'] or 'text'}] {a['title']}", highlight=False, markup=False)
            if not items:
                console.print("アーティファクトはありません")
            return
        if (
            (not parts[-1].isdecimal() and parts[0] != "save")
            or len(parts) < 2
            or not parts[1].isdecimal()
            or not 1 <= int(parts[1]) <= len(items)
        ):
            console.print(f"[yellow]/artifacts show N か /artifacts save N PATH[/]（N は 1〜{len(items)}）")
            return
        item = items[int(parts[1]) - 1]
        if parts[0] == "save" and len(parts) == 3:
            try:
                target = Path(parts[2]).expanduser()
            except RuntimeError:  # ~name of a user this machine does not know
                console.print(f"[red]保存できませんでした:[/] {escape(parts[2])}: ホームディレクトリがわかりません")
                return
            await self._save(target, item["content"])
        else:
            console.print(item["content"], markup=False, highlight=False)

    async def _save(self, target: Path, content: str) -> None:
        """An artifact to a file: never over an existing one without a yes, and a failure is a message, never the
        end of the session."""
        try:
            exists = target.exists()
        except (OSError, ValueError) as exc:  # a name too long, a NUL byte
            console.print(f"[red]保存できませんでした:[/] {escape(str(target))}: {escape(_reason(exc))}")
            return
        if exists and not await self.confirm(f"{target} はすでにあります。上書きしますか？", "上書き", "中止"):
            console.print("保存しませんでした")
            return
        try:
            target.write_text(content, encoding="utf-8")
        except (OSError, ValueError) as exc:
            console.print(f"[red]保存できませんでした:[/] {escape(str(target))}: {escape(_reason(exc))}")
            return
        console.print(f"{escape(str(target))} に保存しました")
