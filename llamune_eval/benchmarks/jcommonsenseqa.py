"""JCommonsenseQA (JGLUE): five-way commonsense multiple choice, asked as a generation task; metric accuracy."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from llamune_eval.benchmarks._jglue import split_rows
from llamune_eval.benchmarks._rules import MeanRules
from llamune_eval.benchmarks._sources import data_version, require, where
from llamune_eval.benchmarks._suite import Item, SampleScore, Suite, SuiteError
from llamune_eval.scoring.parse import parse_index
from llamune_eval.types import Message

NAME = "jcommonsenseqa"
TEMPLATE_VERSION = "jcqa-1"
SYSTEM = "あなたは常識に基づいて多肢選択問題に答えるアシスタントです。"
INSTRUCTION = (
    "質問と選択肢を読み、最も適切な選択肢の番号（0〜4）を一つだけ答えてください。番号以外は書かないでください。"
)


def render(row: dict[str, Any]) -> str:
    options = "\n".join(f"{i}. {row[f'choice{i}']}" for i in range(5))
    return f"{INSTRUCTION}\n\n質問：{row['question']}\n選択肢：\n{options}\n回答："


def _check(row: dict[str, Any], origin: str) -> tuple[str, list[str], int]:
    at = where(Path(origin), row)
    question = require(row, "question", at)
    choices = [require(row, f"choice{i}", at) for i in range(5)]
    label = require(row, "label", at, (int, str))
    if str(label) not in {"0", "1", "2", "3", "4"}:
        raise SuiteError(f"{at}: field 'label' should be 0-4, got {label!r}")
    return question, choices, int(label)


class JCommonsenseQA(MeanRules):
    """Accuracy: the per-sample value is `correct` (an unreadable answer is wrong)."""

    metric = "accuracy"
    field = "correct"

    def score(self, item: Item, outputs: Sequence[str]) -> SampleScore:
        index = parse_index(outputs[-1], item.meta["choices"])
        if index is None:
            return SampleScore(values={"correct": 0.0}, parse_ok=False)
        return SampleScore(values={"correct": float(index == item.reference)}, parsed=str(index))


def load(source: str, shots: int = 3) -> Suite:
    rows, origin = split_rows(source, "valid")
    train, train_origin = split_rows(source, "train", required=False)
    items = []
    for row in rows:
        _, choices, label = _check(row, origin)
        items.append(Item(id=str(row.get("q_id", row["__line__"])), turns=[render(row)], reference=label,
                          scoring="choice", meta={"choices": choices}))  # fmt: skip
    few_shot: list[Message] = []
    for row in train[:shots]:
        _, _, label = _check(row, train_origin)
        few_shot += [Message(role="user", content=render(row)), Message(role="assistant", content=str(label))]
    return Suite(
        name=NAME, kind=NAME, version=data_version(rows + train[:shots]),
        template_version=f"{TEMPLATE_VERSION}-{len(few_shot) // 2}shot",
        category="reasoning", source=origin, task=JCommonsenseQA(), items=items, system=SYSTEM, few_shot=few_shot,
        max_tokens=8,
    )  # fmt: skip
