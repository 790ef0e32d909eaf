"""JNLI (JGLUE): natural language inference, entailment / contradiction / neutral; metric accuracy.

strict: the first line, normalised, is exactly one of the three English labels. lenient: exactly one label (or its
Japanese name 含意 / 矛盾 / 中立) appears un-negated; a negated label (「矛盾しない」, 「not entailment」) never counts
as that label, and two different labels are ambiguous.

Without a train split, few-shot examples are a held-apart slice of valid (the earliest item of each label in
turn) that is never scored.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from llamune_eval.benchmarks._jglue import split_rows
from llamune_eval.benchmarks._rules import MeanRules
from llamune_eval.benchmarks._sources import data_version, require, where
from llamune_eval.benchmarks._suite import Item, SampleScore, Suite, SuiteError
from llamune_eval.benchmarks._templates import LLMJP_SHOTS, Shot, Template, chat_shots, llmjp_prompt, version
from llamune_eval.scoring.parse import answer_line, negated, nfkc, strict_normalize

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
LLMJP_INSTRUCTION = (
    "前提と仮説の関係を entailment、contradiction、neutral のいずれか一つで答えてください。ほかには何も書かないで"
    "ください。\n\n判断の基準：\n- 論理や常識を使って前提から仮説が導けるなら entailment\n"
    "- 前提と仮説が同時には成り立たないなら contradiction\n- どちらでもなければ neutral"
)


def render(row: dict[str, Any]) -> str:
    return f"{INSTRUCTION}\n\n前提：{row['sentence1']}\n仮説：{row['sentence2']}\n関係："


def llmjp_input(row: dict[str, Any]) -> str:
    return f"前提：{row['sentence1']}\n仮説：{row['sentence2']}"


def strict_label(text: str) -> str | None:
    answer = strict_normalize(answer_line(text))
    return answer if answer in LABELS else None


def lenient_label(text: str) -> str | None:
    body = nfkc(text).lower()
    found: set[str] = set()
    for alias, label in ALIASES.items():
        start = body.find(alias)
        while start >= 0:
            end = start + len(alias)
            if not negated(body, start, end):
                found.add(label)
            start = body.find(alias, end)
    return found.pop() if len(found) == 1 else None


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
    scoring_version = "jnli-s2"

    def score(self, item: Item, outputs: Sequence[str]) -> SampleScore:
        strict, lenient = strict_label(outputs[-1]), lenient_label(outputs[-1])
        return SampleScore(
            values={"correct": float(strict == item.reference)},
            parsed=strict,
            parse_ok=strict is not None,
            lenient={"correct": float(lenient == item.reference)},
            lenient_ok=lenient is not None,
        )


def load(source: str, shots: int | None = None, template: Template = "llamune") -> Suite:
    rows, origin = split_rows(source, "valid")
    train, train_origin = split_rows(source, "train", required=False)
    n = (3 if template == "llamune" else LLMJP_SHOTS) if shots is None else shots
    pool, pool_origin = (train, train_origin) if train else (rows, origin)
    picked = [pool[i] for i in held_apart(pool, n, pool_origin)]
    apart = set() if train else {id(r) for r in picked}  # without a train split the examples are not scored
    examples = [Shot(llmjp_input(r), r["label"]) for r in picked]
    items = [
        Item(
            id=str(row.get("sentence_pair_id", row["__line__"])),
            turns=[
                render(row) if template == "llamune" else llmjp_prompt(LLMJP_INSTRUCTION, examples, llmjp_input(row))
            ],
            reference=_label(row, origin),
            scoring="label",
        )
        for row in rows
        if id(row) not in apart
    ]
    chat = chat_shots([(render(r), r["label"]) for r in picked]) if template == "llamune" else []
    note = f"{len(apart)} held-apart few-shot items are not scored" if apart else "few-shot examples from train"
    return Suite(
        name=NAME,
        kind=NAME,
        version=data_version(rows + (picked if train else [])),
        template_version=version(TEMPLATE_VERSION, template, len(picked)),
        template=template,
        category="reasoning",
        source=origin,
        task=JNLI(),
        items=items,
        system=SYSTEM if template == "llamune" else None,
        few_shot=chat,
        max_tokens=8,
        note=note,
    )
