"""The settings side of the chat: the QuarterlyUpdate card at start, `/settings`, and a custom-settings user's
choice between a newer recommendation and their own file (the specification's 詳細 / 今すぐ適用 / このまま)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rich.markup import escape

from llamune_eval.chat.db import ChatDB
from llamune_eval.chat.outputs import _reason
from llamune_eval.chat.runtime import ChatRuntime
from llamune_eval.chat.screens import card_details, card_text
from llamune_eval.settings import Active, default_custom_path
from llamune_eval.types import InputError
from llamune_eval.ui import console

if TYPE_CHECKING:
    from llamune_eval.chat.share import Sharing

CHOSEN = "recommended_chosen_at"  # chat database meta: when a custom-settings user applied the recommendation


def _now() -> str:
    return f"{time.time():.6f}"  # compared with the custom file's modification time


def _chosen_at(db: ChatDB) -> float | None:
    try:
        return float(db.meta(CHOSEN) or "")
    except ValueError:  # never chosen (or a value this code did not write)
        return None


@dataclass(frozen=True)
class Sources:
    """Where a session's settings come from: the recommended folder, the custom file, this machine's memory (None:
    measured) and the organisation's public key (None: $LLAMUNE_PUBLIC_KEY, if set)."""

    recommended: Path
    custom: Path | None = None
    memory_gb: float | None = None
    public_key: Path | None = None

    def load(self, custom: Path | None = None, *, use_custom: bool = True) -> Active:
        from llamune_eval.settings import load_active

        return load_active(
            self.recommended, custom or self.custom, self.memory_gb, use_custom=use_custom, public_key=self.public_key
        )


def choose_settings(db: ChatDB, sources: Sources) -> Active:
    """The settings a session starts with. A custom-settings user who applied the recommendation (/settings apply,
    or 2 on the card) stays on it in later sessions, until they edit their custom file again; if no
    recommendation can be used then, their file applies."""
    chosen = _chosen_at(db)
    path = sources.custom or default_custom_path()
    if chosen is not None and path.is_file() and path.stat().st_mtime < chosen:
        try:
            active = sources.load(use_custom=False)
        except InputError:
            return sources.load()
        active.reason += f" (/settings apply で選択; {path} はその後変更されていません)"
        return active
    return sources.load()


class SettingsCommands:
    """Mixed into the REPL, which supplies the reading."""

    rt: ChatRuntime
    sources: Sources
    sharing: Sharing | None

    def channel_status(self) -> None:
        raise NotImplementedError

    async def ask_line(self, prompt: str, *, keep: bool = False) -> str | None:
        raise NotImplementedError

    async def quarterly_card(self) -> None:
        """The specification's QuarterlyUpdate card, once per new settings file (the chat database remembers the
        version shown): users on the recommendation see what changed; custom users choose 詳細 / 今すぐ適用 /
        このまま."""
        a = self.rt.active
        card = a.newer if a.source == "custom" else a.update
        if card is None or self.rt.db.meta("settings_shown") == card.new_version:
            return
        self.rt.db.set_meta("settings_shown", card.new_version)
        console.print(card_text(card, custom=a.source == "custom"), markup=False, highlight=False)
        if a.source != "custom":
            return
        for _ in range(3):
            answer = (
                (await self.ask_line("番号を選んでください（1. 詳細 2. 今すぐ適用 3. このまま）: ")) or "3"
            ).strip()
            if answer in ("1", "詳細"):
                console.print(card_details(card), markup=False, highlight=False)
                continue
            if answer in ("2", "今すぐ適用"):
                self.newer("apply")
            elif answer in ("3", "このまま"):
                console.print("このまま今の設定を使います（/settings apply でいつでも適用できます）", markup=False)
            else:
                console.print("1〜3 の番号を入力してください", markup=False)
                continue
            return

    def refresh(self) -> None:
        """A recommended settings file that appeared since the session started counts: /settings looks again."""
        from llamune_eval.quarters import is_newer

        a = self.rt.active
        custom = a.source == "custom"
        try:
            fresh = self.sources.load(Path(a.custom_path) if a.custom_path else None, use_custom=custom)
        except InputError:
            return
        if custom and fresh.source == "custom":
            a.newer = fresh.newer
        elif not custom and is_newer(fresh.version, a.version):
            a.newer = fresh.update

    async def c_settings(self, arg: str) -> None:
        self.refresh()
        if arg in ("apply", "keep"):
            self.newer(arg)
            return
        a = self.rt.active
        console.print(
            f"設定: {a.source} {a.version or ''} — {a.reason}\n実行順: {', '.join(a.execution_order)} · "
            f"同時実行: {a.concurrent_limit}",
            markup=False,
        )
        if a.newer is not None:
            added = escape(", ".join(a.newer.new_models) or "-")
            dropped = escape(", ".join(a.newer.deprecated_models) or "-")
            console.print(
                f"[yellow]新しい推奨設定 {escape(a.newer.new_version)} があります[/]: 追加 {added} · 廃止 {dropped}"
            )
            console.print("/settings apply で推奨設定に切り替え、/settings keep で今の設定を使い続けます")
        for reason in a.refused:
            console.print(f"[yellow]使用しなかった推奨設定:[/] {escape(str(reason))}")
        self.channel_status()

    def newer(self, choice: str) -> None:
        """A custom-settings user chooses: apply the newer recommendation, or keep theirs (and stop being told)."""
        a = self.rt.active
        if a.newer is None:
            console.print("新しい推奨設定はありません")
            return
        if choice == "apply":
            try:
                recommended = self.sources.load(use_custom=False)
            except InputError as exc:  # the newer file was removed or refused since the session started
                console.print(f"[red]推奨設定に切り替えられませんでした:[/] {escape(str(exc))}")
                return
            main = self.rt.apply(recommended)
            if a.source == "custom":  # kept for the next sessions, until the custom file is edited
                self.rt.db.set_meta(CHOSEN, _now())
            if recommended.version:  # chosen here: no card for it at the next start
                self.rt.db.set_meta("settings_shown", recommended.version)
            console.print(
                f"推奨設定 {recommended.version} に切り替えました（{recommended.reason}）· メインのモデル: {main}",
                markup=False,
                highlight=False,
            )
        elif a.source != "custom":  # on the recommendation: the new file applies at the next start
            a.newer = None
            console.print("今の設定を使い続けます（新しい推奨設定は次回の起動時に適用されます）", markup=False)
        else:
            path = Path(a.custom_path) if a.custom_path else default_custom_path()  # the file in force
            try:
                text = path.read_text(encoding="utf-8")
                lines = [ln for ln in text.splitlines() if not ln.startswith("basedOn")]
                path.write_text(f'basedOn = "{a.newer.new_version}"\n' + "\n".join(lines) + "\n", encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:  # removed, not UTF-8 or unwritable since it was read
                console.print(f"[red]設定を保存できませんでした:[/] {escape(str(path))}: {escape(_reason(exc))}")
                return
            a.newer = None
            console.print("今の設定を使い続けます")
