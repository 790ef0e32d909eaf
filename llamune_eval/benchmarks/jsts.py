"""JSTS (JGLUE): semantic similarity of two sentences on 0-5; metrics Pearson and Spearman over the suite.

strict: the first line, normalised, is a number in 0-5 and nothing else. lenient: the one similarity figure in
the text, reading 「5点中3.5点」 and 「3.5/5」 as 3.5 and skipping the sentence names 文1 / 文2, scale statements
(「5段階」) and ranges (「0.0〜5.0」); two different figures are ambiguous. Under both, an answer without a figure
is a parse failure predicted at the floor (-2.0, llm-jp-eval's value) in the correlations: leaving it out would
reward not answering.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

from llamune_eval.benchmarks._jglue import split_rows
from llamune_eval.benchmarks._rules import RESAMPLES, Headline, Observed, PairedTest, clamp_unit, finite, paired_test
from llamune_eval.benchmarks._sources import data_version, require, where
from llamune_eval.benchmarks._suite import Item, SampleScore, Suite, SuiteError
from llamune_eval.benchmarks._templates import LLMJP_SHOTS, Shot, Template, chat_shots, llmjp_prompt, version
from llamune_eval.config import ALPHA
from llamune_eval.scoring.metrics import pearson, spearman
from llamune_eval.scoring.parse import answer_line, nfkc, numbers, strict_normalize

NAME = "jsts"
TEMPLATE_VERSION = "jsts-1"
SYSTEM = "あなたは二つの文の意味の近さを採点するアシスタントです。"
INSTRUCTION = (
    "二つの文の意味がどれだけ似ているかを 0.0（まったく無関係）から 5.0（同じ意味）の数値で答えてください。"
    "数値だけを書いてください。"
)
LLMJP_INSTRUCTION = (
    "二つの文の意味の近さを判定し、0.0〜5.0 の範囲の数値で答えてください。0.0 に近いほど意味が異なり、5.0 に"
    "近いほど意味が同じであることを表します。数値だけを答え、ほかには何も書かないでください。"
)
_STRICT = re.compile(r"\d+(?:\.\d+)?")
_OUT_OF = re.compile(r"(\d+(?:\.\d+)?)\s*点?\s*満?点?\s*中\s*(\d+(?:\.\d+)?)")  # 5点中3.5点, 5点満点中3.5
_OVER = re.compile(r"(\d+(?:\.\d+)?)\s*/\s*(\d+(?:\.\d+)?)")  # 3.5/5
_RANGE = re.compile(r"\d+(?:\.\d+)?\s*(?:〜|~|-|–|から)\s*\d+(?:\.\d+)?")
_SCALE_AFTER = re.compile(r"^\s*(?:段階|点満点|満点|つの|文)")
_NAME_BEFORE = re.compile(r"(?:文|sentence\s?)$", re.IGNORECASE)


def llmjp_input(row: dict[str, Any]) -> str:
    return f"文1：{row['sentence1']}\n文2：{row['sentence2']}"


def _in_scale(value: float) -> float | None:
    return value if 0.0 <= value <= 5.0 else None


def strict_number(text: str) -> float | None:
    answer = strict_normalize(answer_line(text)).rstrip(".")
    return _in_scale(float(answer)) if _STRICT.fullmatch(answer) else None


def lenient_number(text: str) -> float | None:
    body = nfkc(text)
    scored = [float(m.group(2)) for m in _OUT_OF.finditer(body) if float(m.group(1)) == 5]
    scored += [float(m.group(1)) for m in _OVER.finditer(body) if float(m.group(2)) == 5]
    if not scored:
        body = _RANGE.sub(" ", body)
        scored = [
            float(m.group(1))
            for m in numbers(body)
            if not _SCALE_AFTER.match(body[m.end() :]) and not _NAME_BEFORE.search(body[: m.start()])
        ]
    found = {v for v in scored if _in_scale(v) is not None}
    return found.pop() if len(found) == 1 else None


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
    value_range = (-1.0, 1.0)
    field = "neg_abs_error"  # the per-sample value compared between configurations
    FLOOR = -2.0  # the prediction of an unreadable answer (llm-jp-eval's value for one)
    RIGHT_WITHIN = 1.0
    scoring_version = "jsts-s2"

    def score(self, item: Item, outputs: Sequence[str]) -> SampleScore:
        strict, lenient = strict_number(outputs[-1]), lenient_number(outputs[-1])
        gold = float(item.reference)

        def values(pred: float | None) -> dict[str, float]:
            return {"gold": gold} if pred is None else {"pred": pred, "gold": gold}

        return SampleScore(
            values=values(strict),
            parsed=None if strict is None else f"{strict:g}",
            parse_ok=strict is not None,
            lenient=values(lenient),
            lenient_ok=lenient is not None,
        )

    def _pair(self, obs: Observed) -> tuple[float, float] | None:
        """(prediction, gold), the prediction at the floor when there is none; None without a gold value."""
        gold = obs.values.get("gold")
        if gold is None and isinstance(obs.reference, str):  # an answer scored before its gold was stored with it
            try:
                gold = orjson.loads(obs.reference)
            except orjson.JSONDecodeError:
                return None
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
        return clamp_unit(headline)

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

    def compare(self, a: Sequence[float], b: Sequence[float], seed: int = 0, alpha: float = ALPHA) -> PairedTest:
        return paired_test(a, b, right_at=None, seed=seed, alpha=alpha)

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


def load(source: str, shots: int | None = None, template: Template = "llamune") -> Suite:
    rows, origin = split_rows(source, "valid")
    train, train_origin = split_rows(source, "train", required=False)
    n = (3 if template == "llamune" else LLMJP_SHOTS) if shots is None else shots
    examples = [(row, f"{_gold(row, train_origin):.1f}") for row in train[:n]]
    shots_ = [Shot(llmjp_input(r), gold) for r, gold in examples]

    def turn(row: dict[str, Any]) -> str:
        return render(row) if template == "llamune" else llmjp_prompt(LLMJP_INSTRUCTION, shots_, llmjp_input(row))

    items = [
        Item(
            id=str(row.get("sentence_pair_id", row["__line__"])),
            turns=[turn(row)],
            reference=_gold(row, origin),
            scoring="number",
        )
        for row in rows
    ]
    chat = chat_shots([(render(r), gold) for r, gold in examples]) if template == "llamune" else []
    return Suite(
        name=NAME,
        kind=NAME,
        version=data_version(rows + train[:n]),
        template_version=version(TEMPLATE_VERSION, template, len(examples)),
        template=template,
        category="reasoning",
        source=origin,
        task=JSTS(),
        items=items,
        system=SYSTEM if template == "llamune" else None,
        few_shot=chat,
        max_tokens=8,
    )
