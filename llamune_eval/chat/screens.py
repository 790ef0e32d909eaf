"""What the chat prints that is more than a line: the command list and the QuarterlyUpdate card."""

from __future__ import annotations

import unicodedata

from llamune_eval.settings import QuarterlyUpdate

HELP = """コマンド:
  /retry            別のモデル×プリセットで最後の質問に答え直す（採用 / 破棄を選ぶ）
  /rewind N         N 番目の質問より後を取り消す（論理削除）
  /switch MODEL     メインのモデルを切り替える
  /preset NAME      プリセットを切り替える（balanced, creative, fast, code, general）
  /others           バックグラウンドで届いた他のLLMの回答を表示する
  /history          この会話の履歴
  /models           インストール済みのモデル（推奨設定のモデルに印）
  /rate [正確性 自然さ 有用性] [コメント]  最後の回答を3項目・5段階で評価する（例: /rate 5 4 4 とても役立った）
  /good, /bad [コメント]  最後の回答を評価する（👍 / 👎）
  /eval             別のモデルが最後の回答を5項目で評価する
  /artifacts [show N | save N PATH]  回答中のコードブロック
  /system TEXT      このセッションのシステムプロンプトを追加する（--permanent ですべてのセッションに）
  /title [TEXT]     セッションのタイトルを表示する / 変更する
  /category [NAME | auto]  質問の種別（coding, reasoning, documentation, business-writing, extraction, general）
  /settings [apply | keep]  有効な設定とその理由（新しい推奨設定を適用 / 今の設定を維持）
  /help, /quit"""


def _width(text: str) -> int:
    """Terminal columns: wide (Japanese) characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def card_text(card: QuarterlyUpdate, *, custom: bool) -> str:
    """The card as the specification draws it: what was added, removed and changed, and the measured speed."""
    quarter = card.new_version.replace("-", " ")
    lines = [f"🎉 新しい推奨設定 ({quarter})", "主な変更:"]
    lines += [f"✨ {m} を追加" for m in card.new_models]
    lines += [f"🗑  {m} を廃止" for m in card.deprecated_models]
    lines += [f"🔧 {c}" for c in card.changes]
    if card.performance_improvements:
        lines.append(f"⚡ {card.performance_improvements}")
    if len(lines) == 2:
        lines.append("（前の四半期からの変更はありません）")
    if custom:
        lines += ["", "カスタム設定を使用中のため、自動では適用されません。", "[詳細] [今すぐ適用] [このまま]"]
    else:
        lines += ["", "推奨設定を使用中のため、この設定が適用されています（/settings で詳細）。"]
    width = max(_width(line) for line in lines) + 2
    rule = "─" * width
    return "\n".join([f"┌{rule}┐", *(f"│ {line}" for line in lines), f"└{rule}┘"])


def card_details(card: QuarterlyUpdate) -> str:
    """詳細: every measured change of each tier's main configuration, with its interval and basis."""
    if not card.performance_details:
        return f"{card.old_version or '-'} → {card.new_version}: 測定された変更の詳細はありません"
    return "\n".join(
        f"  {d.tier} GB {d.metric}: {d.before} → {d.after} · {d.description} ({d.basis})"
        for d in card.performance_details
    )


def command_list() -> dict[str, str]:
    """Every slash command with its one-line description, read from HELP (the completion menu shows these)."""
    import re

    out: dict[str, str] = {}
    for line in HELP.splitlines()[1:]:
        head, *rest = re.split(r"\s{2,}", line.strip(), maxsplit=1)
        for name in re.findall(r"/\w+", head):
            out[name] = rest[0] if rest else ""
    return out
