"""JNLI (JGLUE): natural language inference, entailment / contradiction / neutral; metric accuracy.

There is no train split here, so few-shot examples are a held-apart slice of valid (the earliest item of each
label in turn) that is never scored.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from llamune_eval.benchmarks._jglue import split_rows
from llamune_eval.benchmarks._rules import MeanRules
from llamune_eval.benchmarks._sources import data_version, require, where
from llamune_eval.benchmarks._suite import Item, SampleScore, Suite, SuiteError
from llamune_eval.scoring.parse import parse_label
from llamune_eval.types import Message

NAME = "jnli"
TEMPLATE_VERSION = "jnli-1"
LABELS = ("entailment", "contradiction", "neutral")
ALIASES = {"entailment": "entailment", "contradiction": "contradiction", "neutral": "neutral",
           "含意": "entailment", "矛盾": "contradiction", "中立": "neutral"}  # fmt: skip
SYSTEM = "あなたは二つの文の論理関係を判定するアシスタントです。"
INSTRUCTION = (
    "前提と仮説の関係を entailment（前提から仮説が必ず言える）、contradiction（両立しない）、"
    "neutral（どちらとも言えない）のいずれか一語で答えてください。それ以外は書かないでください。"
)


def render(row: dict[str, Any]) -> str:
    return f"{INSTRUCTION}\n\n前提：{row['sentence1']}\n仮説：{row['sentence2']}\n関係："


def _label(row: dict[str, Any], origin: str) -> str:
    at = where(Path(origin), row)
    require(row, "sentence1", at)
    require(row, "sentence2", at)
    label = require(row, "label", at)
    if label not in LABELS:
        raise SuiteError(f"{at}: field 'label' should be one of {', '.join(LABELS)}, got {label!r}")
    return str(label)


def held_apart(rows: list[dict[str, Any]], shots: int, origin: str) -> list[int]:
    """Indices of the few-shot slice: the earliest row of each label in turn, `shots` in all."""
    chosen: list[int] = []
    for round_ in range(shots):
        wanted = LABELS[round_ % len(LABELS)]
        for i, row in enumerate(rows):
            if i not in chosen and _label(row, origin) == wanted:
                chosen.append(i)
                break
    return chosen


class JNLI(MeanRules):
    """Accuracy: the per-sample value is `correct` (an unreadable answer is wrong)."""

    metric = "accuracy"
    field = "correct"

    def score(self, item: Item, outputs: Sequence[str]) -> SampleScore:
        label = parse_label(outputs[-1], ALIASES)
        if label is None:
            return SampleScore(values={"correct": 0.0}, parse_ok=False)
        return SampleScore(values={"correct": float(label == item.reference)}, parsed=label)


def load(source: str, shots: int = 3) -> Suite:
    rows, origin = split_rows(source, "valid")
    apart = held_apart(rows, shots, origin)
    few_shot: list[Message] = []
    for i in apart:
        few_shot += [Message(role="user", content=render(rows[i])), Message(role="assistant", content=rows[i]["label"])]
    items = [
        Item(id=str(row.get("sentence_pair_id", row["__line__"])), turns=[render(row)],
             reference=_label(row, origin), scoring="label")
        for i, row in enumerate(rows) if i not in apart
    ]  # fmt: skip
    return Suite(
        name=NAME, kind=NAME, version=data_version(rows), template_version=f"{TEMPLATE_VERSION}-{len(apart)}shot",
        category="reasoning", source=origin, task=JNLI(), items=items, system=SYSTEM, few_shot=few_shot, max_tokens=8,
        note=f"{len(apart)} held-apart few-shot items are not scored",
    )  # fmt: skip
