"""JSTS (JGLUE): semantic similarity of two sentences on 0-5; metrics Pearson and Spearman over the suite.

An answer without a number in 0-5 is a parse failure: it has no prediction, so it is left out of the
correlations and reported in the parse-failure rate next to them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from llamune_eval.benchmarks._jglue import split_rows
from llamune_eval.benchmarks._sources import data_version, require, where
from llamune_eval.benchmarks._suite import Item, SampleScore, Suite, SuiteError
from llamune_eval.scoring.metrics import pearson, spearman
from llamune_eval.scoring.parse import parse_number
from llamune_eval.types import Message

NAME = "jsts"
TEMPLATE_VERSION = "jsts-1"
SYSTEM = "あなたは二つの文の意味の近さを採点するアシスタントです。"
INSTRUCTION = (
    "二つの文の意味がどれだけ似ているかを 0.0（まったく無関係）から 5.0（同じ意味）の数値で答えてください。"
    "数値だけを書いてください。"
)


def render(row: dict[str, Any]) -> str:
    return f"{INSTRUCTION}\n\n文1：{row['sentence1']}\n文2：{row['sentence2']}\n類似度："


def _gold(row: dict[str, Any], origin: str) -> float:
    at = where(Path(origin), row)
    require(row, "sentence1", at)
    require(row, "sentence2", at)
    label = require(row, "label", at, (int, float))
    if not 0 <= float(label) <= 5:
        raise SuiteError(f"{at}: field 'label' should be within 0-5, got {label!r}")
    return float(label)


class JSTS:
    metric = "pearson"

    def score(self, item: Item, outputs: Sequence[str]) -> SampleScore:
        value = parse_number(outputs[-1], 0.0, 5.0)
        gold = float(item.reference)
        if value is None:
            return SampleScore(values={"gold": gold}, parse_ok=False)
        return SampleScore(values={"pred": value, "gold": gold}, parsed=f"{value:g}")

    def aggregate(self, scores: Sequence[SampleScore]) -> dict[str, float]:
        pairs = [(s.values["pred"], s.values["gold"]) for s in scores if "pred" in s.values]
        if not pairs:
            return {"pearson": math.nan, "spearman": math.nan}
        pred, gold = zip(*pairs, strict=True)
        return {"pearson": pearson(pred, gold), "spearman": spearman(pred, gold)}


def load(source: str, shots: int = 3) -> Suite:
    rows, origin = split_rows(source, "valid")
    train, train_origin = split_rows(source, "train", required=False)
    items = [
        Item(id=str(row.get("sentence_pair_id", row["__line__"])), turns=[render(row)], reference=_gold(row, origin),
             scoring="number")
        for row in rows
    ]  # fmt: skip
    few_shot: list[Message] = []
    for row in train[:shots]:
        few_shot += [Message(role="user", content=render(row)),
                     Message(role="assistant", content=f"{_gold(row, train_origin):.1f}")]  # fmt: skip
    return Suite(
        name=NAME, kind=NAME, version=data_version(rows + train[:shots]),
        template_version=f"{TEMPLATE_VERSION}-{len(few_shot) // 2}shot", category="reasoning", source=origin,
        task=JSTS(), items=items, system=SYSTEM, few_shot=few_shot, max_tokens=8,
    )  # fmt: skip
