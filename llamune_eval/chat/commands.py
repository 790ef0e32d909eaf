"""The chat's slash commands, written once: the REPL dispatches from this table, the line editor completes its
names (with their descriptions) and /help prints it. The preset and category names come from where they are
defined, so a new preset or category appears in /help without an edit here."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import groupby

from llamune_eval.categories import CATEGORIES
from llamune_eval.presets import BUILTIN

HEAD_WIDTH = 16  # /help's first column: a command and its arguments, then at least two spaces


@dataclass(frozen=True)
class Command:
    """One slash command: its name, the arguments it takes as /help shows them, a one-line description (the
    completion menu shows it too) and the name of the REPL method that runs it (`async (arg) -> str | None`)."""

    name: str
    hint: str
    description: str
    handler: str
    aliases: tuple[str, ...] = ()  # dispatched too, neither listed nor completed


COMMANDS: tuple[Command, ...] = (
    Command("/retry", "", "別のモデル×プリセットで最後の質問に答え直す（採用 / 破棄を選ぶ）", "c_retry"),
    Command("/rewind", "N", "N 番目の質問より後を取り消す（論理削除）", "c_rewind"),
    Command("/switch", "MODEL", "メインのモデルを切り替える", "c_switch"),
    Command("/preset", "NAME", f"プリセットを切り替える（{', '.join(BUILTIN)}）", "c_preset"),
    Command("/others", "", "バックグラウンドで届いた他のLLMの回答を表示する", "c_others"),
    Command("/history", "", "この会話の履歴", "c_history"),
    Command("/models", "", "インストール済みのモデル（推奨設定のモデルに印）", "c_models"),
    Command("/rate", "[正確性 自然さ 有用性] [コメント]",
            "最後の回答を3項目・5段階で評価する（例: /rate 5 4 4 とても役立った）", "c_rate"),
    Command("/good", "[コメント]", "最後の回答を評価する（👍 / 👎）", "c_good"),
    Command("/bad", "[コメント]", "最後の回答を評価する（👍 / 👎）", "c_bad"),
    Command("/eval", "[MODEL]", "別のモデルが最後の回答を5項目で評価する", "c_eval"),
    Command("/artifacts", "[show N | save N PATH]", "回答中のコードブロック", "c_artifacts"),
    Command("/system", "[TEXT]", "システムプロンプトを表示 / このセッションに追加（--permanent で全セッション）",
            "c_system"),
    Command("/title", "[TEXT]", "セッションのタイトルを表示する / 変更する", "c_title"),
    Command("/category", "[NAME | auto]", f"質問の種別（{', '.join(CATEGORIES)}）", "c_category"),
    Command("/settings", "[apply | keep]", "有効な設定とその理由（新しい推奨設定を適用 / 今の設定を維持）",
            "c_settings"),
    Command("/help", "", "", "c_help"),
    Command("/quit", "", "", "c_quit", aliases=("/exit",)),
)  # fmt: skip


def descriptions() -> dict[str, str]:
    """Every command's name with its description, in the table's order (the completion menu)."""
    return {c.name: c.description for c in COMMANDS}


def handlers() -> dict[str, str]:
    """Every name a command answers to (aliases included) with its REPL method's name."""
    return {name: c.handler for c in COMMANDS for name in (c.name, *c.aliases)}


def help_text() -> str:
    """/help: one line per command; neighbours that take the same arguments and share a description share a line
    (`/good, /bad [コメント]`, `/help, /quit`)."""
    lines = ["コマンド:"]
    for (hint, description), same in groupby(COMMANDS, key=lambda c: (c.hint, c.description)):
        head = " ".join(p for p in (", ".join(c.name for c in same), hint) if p)
        lines.append(f"  {head.ljust(HEAD_WIDTH)}  {description}" if description else f"  {head}")
    return "\n".join(lines)
