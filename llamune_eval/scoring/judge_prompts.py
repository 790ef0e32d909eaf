"""Judge prompts in Japanese, versioned like benchmark prompts, with the JSON schema each answer must follow.

Criteria are the specification's four evaluation items plus 日本語の自然さ and 有用性. An answer written in a
language other than the question's is to be scored down hard: the prompt says so explicitly.
"""

from __future__ import annotations

from typing import Any

from llamune_eval.types import Message

TEMPLATE_VERSION = "judge-2"  # 2: every turn of a multi-turn item is judged
CRITERIA: dict[str, str] = {
    "accuracy": "事実の正確性",
    "consistency": "論理の一貫性",
    "coverage": "網羅性",
    "appropriateness": "表現の適切さ",
    "naturalness": "日本語の自然さ",
    "usefulness": "有用性",
}


def judge_scale(setting: str | int, eval_aspect: str | None) -> int:
    """The scale an answer is judged on, and rated on by people: `[judge] scale`, or with "auto" 1-5 for items
    with an eval aspect (ELYZA style) and 1-10 otherwise."""
    if setting != "auto":
        return int(setting)
    return 5 if eval_aspect else 10


SYSTEM = (
    "あなたは公平で厳格な評価者です。AIアシスタントの回答を、指定された基準に従って評価します。"
    "回答の長さや位置に影響されず、内容だけで判断してください。"
)
LANGUAGE_RULE = "回答が質問と異なる言語で書かれている場合は、内容にかかわらず総合評価を大きく下げてください。"


def single_schema(scale: int) -> dict[str, Any]:
    score = {"type": "integer", "minimum": 1, "maximum": scale}
    return {
        "type": "object",
        "properties": {
            "criteria": {"type": "object", "properties": dict.fromkeys(CRITERIA, score), "required": list(CRITERIA)},
            "overall": score,
            "reason": {"type": "string", "maxLength": 400},
        },
        "required": ["criteria", "overall", "reason"],
    }


PAIRWISE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "winner": {"type": "string", "enum": ["A", "B", "tie"]},
        "reason": {"type": "string", "maxLength": 400},
    },
    "required": ["winner", "reason"],
}


def _conversation(turns: list[str], answers: list[str]) -> str:
    lines = []
    for i, (question, answer) in enumerate(zip(turns, answers, strict=False), 1):
        lines.append(f"【質問{i}】\n{question}\n【回答{i}】\n{answer}")
    return "\n\n".join(lines)


def single(
    turns: list[str], answers: list[str], *, scale: int, reference: str | None = None, eval_aspect: str | None = None
) -> list[Message]:
    """Single-answer grading on 1-`scale`; reference-guided when a reference or eval aspect is given."""
    criteria = "、".join(CRITERIA.values())
    parts = [
        f"以下の対話におけるアシスタントの最後の回答を、{criteria}の各基準と総合評価で、1から{scale}の整数で"
        f"採点してください。{LANGUAGE_RULE}",
        _conversation(turns, answers),
    ]
    if reference:
        parts.append(f"【参考回答】\n{reference}\n参考回答と照らし合わせて正確性を判断してください。")
    if eval_aspect:
        parts.append(f"【採点基準】\n{eval_aspect}")
    keys = ", ".join(f'"{k}"' for k in CRITERIA)
    parts.append(
        f'JSON だけで答えてください: {{"criteria": {{{keys} の各整数}}, "overall": 総合評価の整数, "reason": "理由"}}。'
        f"JSON が書けない場合は、最後に総合評価を [[{scale}]] の形式で書いてください。"
    )
    return [Message(role="system", content=SYSTEM), Message(role="user", content="\n\n".join(parts))]


def pairwise(
    turns: list[str], answer_a: list[str], answer_b: list[str], *, reference: str | None = None
) -> list[Message]:
    """Which of two answers is better; always asked in both orders by the judge stage."""
    parts = [
        "以下の質問に対する二つのアシスタントの回答を比較し、より優れた方を選んでください。"
        f"回答の順番や長さに影響されないでください。{LANGUAGE_RULE}",
        f"【アシスタントA】\n{_conversation(turns, answer_a)}",
        f"【アシスタントB】\n{_conversation(turns, answer_b)}",
    ]
    if reference:
        parts.append(f"【参考回答】\n{reference}")
    parts.append(
        'JSON だけで答えてください: {"winner": "A" または "B" または "tie", "reason": "理由"}。'
        "JSON が書けない場合は [[A]]、[[B]]、引き分けなら [[C]] と書いてください。"
    )
    return [Message(role="system", content=SYSTEM), Message(role="user", content="\n\n".join(parts))]
