"""JCommonsenseQA (JGLUE): five-way commonsense multiple choice, asked as a generation task; metric accuracy.

The answer is the chosen option's index (0-4). strict: the first line, normalised, is exactly an index. lenient:
the whole answer is exactly one option's text, else the one index in the text (two different ones are
ambiguous), else the one option whose text appears. Under both, an index that also stands in another option's
text (「3」 with options 1日…5日) is ambiguous and a parse failure; an unreadable answer is wrong.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from llamune_eval.benchmarks._jglue import split_rows
from llamune_eval.benchmarks._rules import MeanRules
from llamune_eval.benchmarks._sources import data_version, require, where
from llamune_eval.benchmarks._suite import Item, SampleScore, Suite, SuiteError
from llamune_eval.benchmarks._templates import LLMJP_SHOTS, Shot, Template, chat_shots, llmjp_prompt, version
from llamune_eval.scoring.metrics import lenient_normalize
from llamune_eval.scoring.parse import answer_line, first_line, nfkc, numbers, strict_normalize

NAME = "jcommonsenseqa"
TEMPLATE_VERSION = "jcqa-1"
SYSTEM = "あなたは常識に基づいて多肢選択問題に答えるアシスタントです。"
INSTRUCTION = (
    "質問と選択肢を読み、最も適切な選択肢の番号（0〜4）を一つだけ答えてください。番号以外は書かないでください。"
)
LLMJP_INSTRUCTION = (
    "入力の質問に対して、選択肢の中から最も適切なものを一つ選んでください。"
    "答えは選択肢の番号（0〜4の整数）だけとし、ほかには何も書かないでください。"
)
INDICES = ("0", "1", "2", "3", "4")


def render(row: dict[str, Any]) -> str:
    options = "\n".join(f"{i}. {row[f'choice{i}']}" for i in range(5))
    return f"{INSTRUCTION}\n\n質問：{row['question']}\n選択肢：\n{options}\n回答："


def llmjp_input(row: dict[str, Any]) -> str:
    options = ",".join(f"{i}.{row[f'choice{i}']}" for i in range(5))
    return f"質問：{row['question']}\n選択肢：{options}"


@lru_cache(maxsize=4096)
def _options(choices: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...], tuple[frozenset[str], ...]]:
    """Each option lenient-normalised, NFKC'd, and the numbers standing in it: computed once per item, not once
    per answer (every configuration answers the same items)."""
    return (
        tuple(lenient_normalize(c) for c in choices),
        tuple(nfkc(c) for c in choices),
        tuple(frozenset(m.group(1) for m in numbers(c)) for c in choices),
    )


def _ambiguous(index: int, choices: Sequence[str]) -> bool:
    """The index is also a number inside another option's text."""
    held = _options(tuple(choices))[2]
    return any(j != index and str(index) in found for j, found in enumerate(held))


def strict_index(text: str, choices: Sequence[str]) -> int | None:
    answer = strict_normalize(answer_line(text))
    if answer not in INDICES or _ambiguous(int(answer), choices):
        return None
    return int(answer)


def lenient_index(text: str, choices: Sequence[str]) -> int | None:
    normalised, plain, _ = _options(tuple(choices))
    whole = lenient_normalize(first_line(text))
    exact = [i for i, c in enumerate(normalised) if c and c == whole]
    if len(exact) == 1:
        return exact[0]
    indices = {int(m.group(1)) for m in numbers(text) if "." not in m.group(1) and int(m.group(1)) < len(choices)}
    if len(indices) > 1:
        return None  # 「2ではなく3」: two indices
    if indices and not _ambiguous(index := indices.pop(), choices):
        return index
    body = nfkc(text)
    found = [i for i, c in enumerate(plain) if c and c in body]
    return found[0] if len(found) == 1 else None


def _check(row: dict[str, Any], origin: str) -> tuple[str, list[str], int]:
    at = where(Path(origin), row)
    question = require(row, "question", at)
    choices = [require(row, f"choice{i}", at) for i in range(5)]
    label = require(row, "label", at, (int, str))
    if str(label) not in INDICES:
        raise SuiteError(f"{at}: field 'label' should be 0-4, got {label!r}")
    return question, choices, int(label)


class JCommonsenseQA(MeanRules):
    """Accuracy: the per-sample value is `correct` (an unreadable answer is wrong)."""

    metric = "accuracy"
    field = "correct"
    scoring_version = "jcqa-s2"

    def score(self, item: Item, outputs: Sequence[str]) -> SampleScore:
        choices = item.meta["choices"]
        strict, lenient = strict_index(outputs[-1], choices), lenient_index(outputs[-1], choices)
        return SampleScore(
            values={"correct": float(strict == item.reference)},
            parsed=None if strict is None else str(strict),
            parse_ok=strict is not None,
            lenient={"correct": float(lenient == item.reference)},
            lenient_ok=lenient is not None,
        )


def load(source: str, shots: int | None = None, template: Template = "llamune") -> Suite:
    rows, origin = split_rows(source, "valid")
    train, train_origin = split_rows(source, "train", required=False)
    n = (3 if template == "llamune" else LLMJP_SHOTS) if shots is None else shots
    examples = [(row, _check(row, train_origin)[2]) for row in train[:n]]
    items = []
    for row in rows:
        _, choices, label = _check(row, origin)
        if template == "llamune":
            turn = render(row)
        else:
            turn = llmjp_prompt(
                LLMJP_INSTRUCTION, [Shot(llmjp_input(r), str(lab)) for r, lab in examples], llmjp_input(row)
            )
        items.append(
            Item(
                id=str(row.get("q_id", row["__line__"])),
                turns=[turn],
                reference=label,
                scoring="choice",
                meta={"choices": choices},
            )
        )
    chat = chat_shots([(render(r), str(lab)) for r, lab in examples]) if template == "llamune" else []
    return Suite(
        name=NAME,
        kind=NAME,
        version=data_version(rows + train[:n]),
        template_version=version(TEMPLATE_VERSION, template, len(examples)),
        template=template,
        category="reasoning",
        source=origin,
        task=JCommonsenseQA(),
        items=items,
        system=SYSTEM if template == "llamune" else None,
        few_shot=chat,
        max_tokens=8,
    )
