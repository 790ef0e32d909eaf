"""What the chat prints that is more than a line: the QuarterlyUpdate card (the command list: `commands.py`)."""

from __future__ import annotations

import unicodedata

from llamune_eval.settings import QuarterlyUpdate


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
