"""Task categories: the specification's taskPerformance keys, shared by in-house suites, the chat runtime's usage
events and the usage metrics; and the rule that gives a chat turn its category.

The rule reads the user's question, first match wins, in this order:
1. coding: a code block (```) or a programming word (コード, 関数, プログラム, バグ, 実装, SQL, Python, ...);
2. extraction: asks to pull something out of a text (抽出, 抜き出, 取り出, 一覧にして, 表にして, JSON で, ...);
3. business-writing: business correspondence (メール, 件名, お詫び, 依頼文, 議事録, 報告書, 提案書, 敬語, ...);
4. documentation: documents and summaries (ドキュメント, 仕様書, マニュアル, 手順書, README, 要約, まとめて, ...);
5. reasoning: asks why or to work something out (なぜ, 理由, 計算, 証明, 推論, 確率, 何個, どちらが, ...);
6. general: everything else.
The user's `/category NAME` overrides it for the session's turns.
"""

from __future__ import annotations

import re
import unicodedata

CATEGORIES = ("coding", "reasoning", "documentation", "business-writing", "extraction", "general")

_RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("coding", ("```", "コード", "関数", "プログラム", "バグ", "デバッグ", "実装", "コンパイル", "リファクタ",
                "スクリプト", "正規表現", "メソッド", "python", "javascript", "typescript", "java", "sql", "html",
                "bash", "def ", "import ", "エラーメッセージ")),
    ("extraction", ("抽出", "抜き出", "抜粋", "取り出", "一覧にして", "リストアップ", "表にして", "表にまとめ",
                    "jsonで", "json形式", "項目を", "から日付", "から金額", "から氏名", "から名前")),
    ("business-writing", ("メール", "件名", "お詫び", "謝罪文", "依頼文", "案内文", "挨拶文", "お礼状", "議事録",
                          "報告書", "提案書", "稟議", "送付状", "ビジネス文書", "敬語", "顧客への", "取引先")),
    ("documentation", ("ドキュメント", "仕様書", "設計書", "マニュアル", "手順書", "説明書", "readme", "要約",
                       "まとめて", "文書化", "注釈", "コメントを書")),
    ("reasoning", ("なぜ", "理由", "計算", "証明", "推論", "論理", "確率", "何個", "何人", "何通り", "どちらが",
                   "比較して", "考えて", "解いて", "問題を解")),
)  # fmt: skip
_SPACES = re.compile(r"[ \t\u3000]+")


def classify(text: str) -> str:
    """The category of a question by the rule above."""
    norm = _SPACES.sub(" ", unicodedata.normalize("NFKC", text).lower())
    compact = norm.replace(" ", "")
    for category, words in _RULES:
        for w in words:
            if (w in norm) if w.endswith(" ") else (w.replace(" ", "") in compact):
                return category
    return "general"
