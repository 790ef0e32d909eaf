"""The documented rule that gives each chat turn its task category."""

from __future__ import annotations

import pytest

from llamune_eval.categories import CATEGORIES, classify


@pytest.mark.parametrize(
    ("question", "category"),
    [
        ("Pythonで素数を返す関数を書いてください", "coding"),
        ("```\nSELECT * FROM t\n```\nこのクエリが遅い", "coding"),
        ("ＳＱＬの書き方を教えて", "coding"),  # full-width letters are read as they are meant
        ("次の契約書から日付と金額を抜き出してください", "extraction"),
        ("この文章の要点を表にまとめて", "extraction"),
        ("取引先への納期遅延のお詫びメールを書いて", "business-writing"),
        ("会議の議事録を作って", "business-writing"),
        ("この仕様書を３行で要約して", "documentation"),
        ("新人向けの操作マニュアルを書いて", "documentation"),
        ("なぜ空は青いのですか", "reasoning"),
        ("サイコロを2回振って和が7になる確率は？", "reasoning"),
        ("日本の首都はどこですか", "general"),
        ("こんにちは", "general"),
    ],
)
def test_each_question_gets_its_category(question: str, category: str) -> None:
    assert classify(question) == category and category in CATEGORIES


def test_the_first_matching_rule_wins() -> None:
    assert classify("Pythonのコードを要約して") == "coding"  # coding is checked before documentation
