"""JSQuAD (JGLUE): extractive reading comprehension in the nested SQuAD v1.1 layout.

Metrics, best over the 2-3 gold answers: exact match and character-level F1. strict is JGLUE's definition: the
first non-empty line as written, compared after NFKC, lower-casing, removing whitespace and stripping a trailing
「。」. lenient also drops a leading 「答え：」 and the brackets, quotes and punctuation around the answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from llamune_eval.benchmarks._rules import MeanRules
from llamune_eval.benchmarks._sources import HF_PREFIX, data_version, load_hf, read_json, require
from llamune_eval.benchmarks._suite import Item, SampleScore, Suite, SuiteError
from llamune_eval.benchmarks._templates import LLMJP_SHOTS, Shot, Template, chat_shots, llmjp_prompt, version
from llamune_eval.scoring.metrics import lenient_normalize, span_scores
from llamune_eval.scoring.parse import answer_line, first_line, strict_normalize

NAME = "jsquad"
TEMPLATE_VERSION = "jsquad-1"
SYSTEM = "あなたは文章を読んで質問に答えるアシスタントです。"
INSTRUCTION = "次の文章を読み、質問の答えを文章中からそのまま抜き出して、答えだけを短く書いてください。"
LLMJP_INSTRUCTION = "質問の答えを文章の中から一語で抜き出してください。答えは名詞とし、ほかには何も書かないでください。"


def llmjp_input(context: str, question: str) -> str:
    return f"文章：{context}\n質問：{question}"


def render(context: str, question: str) -> str:
    return f"{INSTRUCTION}\n\n文章：{context}\n質問：{question}\n答え："


def _flatten(doc: Any, origin: str) -> list[dict[str, Any]]:
    if not isinstance(doc, dict) or not isinstance(doc.get("data"), list):
        raise SuiteError(f"{origin}: expected the SQuAD layout {{'data': [{{'title', 'paragraphs': [...]}}]}}")
    out = []
    for a, article in enumerate(doc["data"]):
        for p, para in enumerate(article.get("paragraphs") or []):
            at = f"{origin}: data[{a}].paragraphs[{p}]"
            context = require(para, "context", at)
            for q, qa in enumerate(para.get("qas") or []):
                qat = f"{at}.qas[{q}]"
                answers = [require(ans, "text", qat) for ans in require(qa, "answers", qat, list)]
                if not answers:
                    raise SuiteError(f"{qat}: no gold answers")
                out.append(
                    {
                        "id": str(require(qa, "id", qat, (str, int))),
                        "context": context,
                        "question": require(qa, "question", qat),
                        "answers": answers,
                    }
                )
    return out


def _rows(source: str) -> tuple[list[dict[str, Any]], str]:
    if source.startswith(HF_PREFIX):  # the hub's flattened layout: one row per question
        rows = load_hf(source, "validation")
        return [
            {
                "id": str(r["id"]),
                "context": r["context"],
                "question": r["question"],
                "answers": list(r["answers"]["text"]),
            }
            for r in rows
        ], source
    path = Path(source).expanduser()
    if path.is_dir():
        path = next(
            (path / n for n in ("valid.json", "valid-v1.3.json", "valid-v1.1.json") if (path / n).is_file()),
            path / "valid.json",
        )
    return _flatten(read_json(path), str(path)), str(path)


class JSQuAD(MeanRules):
    """Character F1 (exact match beside it); an answer with F1 of at least 0.5 counts as right."""

    metric = "f1"
    field = "f1"
    extra = ("em",)
    scoring_version = "jsquad-s2"

    def score(self, item: Item, outputs: Sequence[str]) -> SampleScore:
        golds = list(item.reference)
        strict, lenient = answer_line(outputs[-1]), first_line(outputs[-1])
        em, f1 = span_scores(strict, golds, strict_normalize)
        lenient_em, lenient_f1 = span_scores(lenient, golds, lenient_normalize)
        return SampleScore(
            values={"em": em, "f1": f1},
            parsed=strict,
            parse_ok=bool(strict),
            lenient={"em": lenient_em, "f1": lenient_f1},
            lenient_ok=bool(lenient_normalize(lenient)),
        )


def load(source: str, shots: int | None = None, template: Template = "llamune") -> Suite:
    rows, origin = _rows(source)
    n = (0 if template == "llamune" else LLMJP_SHOTS) if shots is None else shots
    apart = set(range(min(n, len(rows))))
    examples = [rows[i] for i in sorted(apart)]
    shots_ = [Shot(llmjp_input(r["context"], r["question"]), r["answers"][0]) for r in examples]

    def turn(r: dict[str, Any]) -> str:
        if template == "llamune":
            return render(r["context"], r["question"])
        return llmjp_prompt(LLMJP_INSTRUCTION, shots_, llmjp_input(r["context"], r["question"]))

    items = [
        Item(id=r["id"], turns=[turn(r)], reference=r["answers"], scoring="span")
        for i, r in enumerate(rows)
        if i not in apart
    ]
    chat = chat_shots([(render(r["context"], r["question"]), r["answers"][0]) for r in examples])
    return Suite(
        name=NAME,
        kind=NAME,
        version=data_version(rows),
        template_version=version(TEMPLATE_VERSION, template, len(apart)),
        template=template,
        category="reading",
        source=origin,
        task=JSQuAD(),
        items=items,
        system=SYSTEM if template == "llamune" else None,
        few_shot=chat if template == "llamune" else [],
        max_tokens=48,
        note=f"{len(apart)} held-apart few-shot items are not scored" if apart else "",
    )
