"""JSQuAD (JGLUE): extractive reading comprehension in the nested SQuAD v1.1 layout.

Metrics, best over the 2-3 gold answers: exact match and character-level F1 after `scoring.metrics.normalize`
(NFKC, whitespace removed, surrounding punctuation stripped). The answer is the model's first line.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from llamune_eval.benchmarks._rules import MeanRules
from llamune_eval.benchmarks._sources import HF_PREFIX, data_version, load_hf, read_json, require
from llamune_eval.benchmarks._suite import Item, SampleScore, Suite, SuiteError
from llamune_eval.scoring.metrics import char_f1, exact_match
from llamune_eval.scoring.parse import first_line
from llamune_eval.types import Message

NAME = "jsquad"
TEMPLATE_VERSION = "jsquad-1"
SYSTEM = "あなたは文章を読んで質問に答えるアシスタントです。"
INSTRUCTION = "次の文章を読み、質問の答えを文章中からそのまま抜き出して、答えだけを短く書いてください。"


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
                out.append({"id": str(require(qa, "id", qat, (str, int))), "context": context,
                            "question": require(qa, "question", qat), "answers": answers})  # fmt: skip
    return out


def _rows(source: str) -> tuple[list[dict[str, Any]], str]:
    if source.startswith(HF_PREFIX):  # the hub's flattened layout: one row per question
        rows = load_hf(source, "validation")
        return [{"id": str(r["id"]), "context": r["context"], "question": r["question"],
                 "answers": list(r["answers"]["text"])} for r in rows], source  # fmt: skip
    path = Path(source).expanduser()
    if path.is_dir():
        path = next((path / n for n in ("valid.json", "valid-v1.3.json", "valid-v1.1.json") if (path / n).is_file()),
                    path / "valid.json")  # fmt: skip
    return _flatten(read_json(path), str(path)), str(path)


class JSQuAD(MeanRules):
    """Character F1 (exact match beside it); an answer with F1 of at least 0.5 counts as right."""

    metric = "f1"
    field = "f1"
    extra = ("em",)

    def score(self, item: Item, outputs: Sequence[str]) -> SampleScore:
        answer = first_line(outputs[-1])
        golds = list(item.reference)
        return SampleScore(values={"em": exact_match(answer, golds), "f1": char_f1(answer, golds)}, parsed=answer,
                           parse_ok=bool(answer))  # fmt: skip


def load(source: str, shots: int = 0) -> Suite:
    rows, origin = _rows(source)
    apart = set(range(min(shots, len(rows))))
    few_shot: list[Message] = []
    for i in sorted(apart):
        few_shot += [Message(role="user", content=render(rows[i]["context"], rows[i]["question"])),
                     Message(role="assistant", content=rows[i]["answers"][0])]  # fmt: skip
    items = [Item(id=r["id"], turns=[render(r["context"], r["question"])], reference=r["answers"], scoring="span")
             for i, r in enumerate(rows) if i not in apart]  # fmt: skip
    return Suite(
        name=NAME, kind=NAME, version=data_version(rows), template_version=f"{TEMPLATE_VERSION}-{len(apart)}shot",
        category="reading", source=origin, task=JSQuAD(), items=items, system=SYSTEM, few_shot=few_shot,
        max_tokens=48, note=f"{len(apart)} held-apart few-shot items are not scored" if apart else "",
    )  # fmt: skip
