"""The judge parser: the documented forms, and property-based malformed input (it never raises, never invents)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llamune_eval.scoring.judge_parse import parse_pairwise, parse_single
from llamune_eval.scoring.judge_prompts import CRITERIA, PAIRWISE_SCHEMA, pairwise, single, single_schema


@pytest.mark.parametrize(
    ("text", "scale", "overall"),
    [
        ('{"criteria": {"accuracy": 7}, "overall": 8, "reason": "良い"}', 10, 8),
        ("評価：[[8]]", 10, 8),
        ("理由は…\n[[3]]", 5, 3),
        ("Rating: 7/10", 10, 7),
        ("総合評価は９点です", 10, 9),
        ('前置き ```json\n{"overall": 4, "reason": "x"}\n``` 後書き', 5, 4),
        ("[[2]] と思ったが、最終的に [[6]]", 10, 6),
        # the table of verdict formats (README: "Judge verdict formats")
        ("総合評価: 7\n（評価は1から10の整数）", 10, 7),
        ("スコア 10点満点中 6点", 10, 6),
        ("10点中6点です", 10, 6),
        ("6点（10点満点）", 10, 6),
        ("評価：6 / 10", 10, 6),
        ("1〜10で評価すると、総合評価は8", 10, 8),
        ("score: 4\n(1-5 scale)", 5, 4),
        ("各項目は正確性 7、自然さ 9。総合評価：8点", 10, 8),
        ("Overall: 3", 5, 3),
        ("得点は５点中４点", 5, 4),
        ("評価は1から5の整数で行います。\n評価：2", 5, 2),
        ("総合評価　９", 10, 9),
    ],
)
def test_documented_forms(text: str, scale: int, overall: float) -> None:
    verdict = parse_single(text, scale)
    assert verdict is not None and verdict.overall == overall


@pytest.mark.parametrize(
    "text",
    [
        "",
        "わかりません",
        "[[11]]",
        '{"overall": 0}',
        "評価：[[6]]",
        '{"overall": "high"}',
        "評価は1から5の整数です",
        "10点満点中7点",
        "7/10",
    ],
)
def test_out_of_range_or_missing_is_none(text: str) -> None:
    assert parse_single(text, 5) is None


def test_criteria_are_kept_when_in_range() -> None:
    text = json.dumps({"criteria": {"accuracy": 9, "naturalness": 12}, "overall": 8, "reason": "r"})
    verdict = parse_single(text, 10)
    assert verdict is not None and verdict.criteria == {"accuracy": 9.0}


@pytest.mark.parametrize(
    ("text", "winner"),
    [('{"winner": "A", "reason": ""}', "A"), ("[[B]]", "B"), ("[[C]]", "tie"), ('{"winner": "tie"}', "tie"),
     ("引き分けです", "tie"), ("どちらとも…", None)],
)  # fmt: skip
def test_pairwise_forms(text: str, winner: str | None) -> None:
    assert parse_pairwise(text) == winner


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300), st.sampled_from([5, 10]))
def test_never_raises_and_never_leaves_the_scale(text: str, scale: int) -> None:
    verdict = parse_single(text, scale)
    assert verdict is None or 1 <= verdict.overall <= scale
    assert parse_pairwise(text) in (None, "A", "B", "tie")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80), st.integers(1, 10), st.text(max_size=80))
def test_a_bracketed_score_in_noise_is_found(before: str, score: int, after: str) -> None:
    noise_after = after.replace("[", "(").replace("{", "(")  # nothing after the verdict that looks like one
    verdict = parse_single(f"{before.replace('{', '(')}\n[[{score}]]{noise_after}", 10)
    assert verdict is not None and verdict.overall == score


def test_prompts_are_japanese_versioned_and_carry_their_schema() -> None:
    messages = single(["日本の首都は？"], ["東京です。"], scale=10, reference="東京", eval_aspect="正確さ")
    text = messages[-1].content
    assert "参考回答" in text and "採点基準" in text and "異なる言語" in text
    assert all(label in text for label in CRITERIA.values())
    schema = single_schema(5)
    assert schema["properties"]["overall"]["maximum"] == 5
    both = pairwise(["質問"], ["回答1"], ["回答2"])
    assert "アシスタントA" in both[-1].content and PAIRWISE_SCHEMA["properties"]["winner"]["enum"] == ["A", "B", "tie"]
