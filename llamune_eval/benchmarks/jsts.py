"""JSTS (JGLUE): semantic similarity of two sentences on 0-5; metrics Pearson and Spearman over the suite.

An answer without a number in 0-5 is a parse failure, counted at a floor prediction in the correlations (and in
the parse-failure rate beside them): leaving it out would reward not answering.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from llamune_eval.benchmarks._jglue import split_rows
from llamune_eval.benchmarks._rules import RESAMPLES, Headline, Observed, PairedTest, finite, paired_test
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
    """Pearson's r over every answer: one without a number in 0-5 (or that failed) is predicted at `FLOOR`, so a
    configuration that does not answer cannot keep its correlation; an undefined r (constant predictions) is 0.
    The per-sample value is minus the absolute error; an answer within one point of the gold is right."""

    metric = "pearson"
    field = "neg_abs_error"  # the per-sample value compared between configurations
    FLOOR = -2.0  # the prediction of an unreadable answer (llm-jp-eval's value for one)
    RIGHT_WITHIN = 1.0

    def score(self, item: Item, outputs: Sequence[str]) -> SampleScore:
        value = parse_number(outputs[-1], 0.0, 5.0)
        gold = float(item.reference)
        if value is None:
            return SampleScore(values={"gold": gold}, parse_ok=False)
        return SampleScore(values={"pred": value, "gold": gold}, parsed=f"{value:g}")

    def _pair(self, obs: Observed) -> tuple[float, float] | None:
        """(prediction, gold), the prediction at the floor when there is none; None without a gold value."""
        gold = obs.values.get("gold", obs.reference)
        if not isinstance(gold, int | float):
            return None
        pred = obs.values.get("pred") if obs.ok else None
        return (self.FLOOR if pred is None else pred, float(gold))

    def value(self, obs: Observed) -> float | None:
        pair = self._pair(obs)
        return None if pair is None else -abs(pair[0] - pair[1])

    def right(self, value: float) -> bool:
        return -value <= self.RIGHT_WITHIN

    def unit(self, headline: float | None) -> float | None:
        return None if headline is None else max(0.0, min(1.0, headline))

    def unit_value(self, value: float) -> float:
        return max(0.0, 1.0 + value / 5.0)  # 1 - |error| / 5: closeness on the 0-5 scale

    def metric_of(self, observed: Sequence[Observed]) -> str:
        return self.metric

    def headline(self, observed: Sequence[Observed]) -> Headline:
        pairs = [p for p in map(self._pair, observed) if p is not None]
        if len(pairs) < 2:
            return Headline(self.metric, None, note="fewer than two answers")
        pred, gold = zip(*pairs, strict=True)
        r, note = pearson(pred, gold), None
        if math.isnan(r):
            r, note = 0.0, "predictions are constant (e.g. no answer could be read): counted as 0"
        answered = [(p, g) for p, g in pairs if p != self.FLOOR]
        others: dict[str, float | None] = {"spearman": finite(spearman(pred, gold)) or 0.0}
        if len(answered) >= 2:
            others["pearson_answered"] = finite(pearson(*zip(*answered, strict=True)))
        return Headline(self.metric, r, others=others, note=note)

    def interval(self, observed: Sequence[Observed], seed: int = 0) -> tuple[float | None, float | None]:
        """95% percentile bootstrap interval of Pearson's r, resampling (prediction, gold) pairs."""
        from llamune_eval.scoring.stats import bootstrap_ci_pearson

        pairs = [p for p in map(self._pair, observed) if p is not None]
        if len(pairs) < 3:
            return None, None
        pred, gold = zip(*pairs, strict=True)
        low, high = bootstrap_ci_pearson(pred, gold, resamples=RESAMPLES, seed=seed)
        return finite(low), finite(high)

    def compare(self, a: Sequence[float], b: Sequence[float], seed: int = 0) -> PairedTest:
        return paired_test(a, b, right_at=None, seed=seed)

    def unit_draws(self, a: Sequence[Observed], b: Sequence[Observed], resamples: int, seed: int) -> Any:
        """Bootstrap draws of unit(A) - unit(B): both correlations on the same resampled items."""
        import numpy as np

        pa = [self._pair(o) or (self.FLOOR, 0.0) for o in a]
        pb = [self._pair(o) or (self.FLOOR, 0.0) for o in b]
        idx = np.random.default_rng(seed).integers(0, len(pa), size=(resamples, len(pa)))

        def draws(pairs: list[tuple[float, float]]) -> Any:
            x, y = np.array(pairs).T
            xs, ys = x[idx], y[idx]
            xs = xs - xs.mean(axis=1, keepdims=True)
            ys = ys - ys.mean(axis=1, keepdims=True)
            with np.errstate(invalid="ignore", divide="ignore"):
                r = (xs * ys).sum(axis=1) / np.sqrt((xs * xs).sum(axis=1) * (ys * ys).sum(axis=1))
            return np.clip(np.nan_to_num(r, nan=0.0), 0.0, 1.0)

        return draws(pa) - draws(pb)


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
