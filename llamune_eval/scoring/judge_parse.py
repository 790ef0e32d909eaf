"""Reading a judge's verdict by a table of formats, most explicit first (README: "Judge verdict formats"):

1. a JSON object with `overall` (or `score`, `rating`);
2. MT-Bench's `[[8]]`;
3. a score out of the scale: `10点満点中6点`, `10点中6点`, `6/10`, `6点（10点満点）`;
4. a labelled score: `総合評価: 7`, `スコア 6点`, `Rating: 8`.

Within a format the last one counts (judges state their final verdict at the end). Scale statements and ranges
(`評価は1から10の整数`, `1〜10`) are removed before 3 and 4, so they are never read as a score. Anything that cannot
be read returns `None`: it is stored as a parse failure with its raw text, never guessed into a score, and the
function never raises on any input.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

_NUM = r"(\d+(?:\.\d+)?)"
_BRACKETS = re.compile(rf"\[\[\s*{_NUM}\s*\]\]")
_RANGE = re.compile(rf"{_NUM}\s*(?:から|〜|～|~|-|–|to)\s*{_NUM}(?:\s*(?:の整数|点|の範囲))?", re.IGNORECASE)
_OUT_OF = [  # (pattern, group of the scale, group of the score)
    (re.compile(rf"{_NUM}\s*点?\s*満点\s*中\s*{_NUM}"), 1, 2),  # 10点満点中6点
    (re.compile(rf"{_NUM}\s*点\s*中\s*{_NUM}"), 1, 2),  # 10点中6点
    (re.compile(rf"{_NUM}\s*点?\s*[（(]\s*{_NUM}\s*点?\s*満点\s*[)）]"), 2, 1),  # 6点（10点満点）
    (re.compile(rf"{_NUM}\s*/\s*{_NUM}"), 2, 1),  # 6/10
]
_LABEL = r"(?:総合評価|総合得点|総合|評価|スコア|点数|得点|rating|score|overall)"
_LABELLED = re.compile(rf"{_LABEL}\s*[:：]?\s*(?:は)?\s*{_NUM}(?!\s*(?:点?\s*満点|点\s*中|/))", re.IGNORECASE)
_VERDICT = re.compile(r"\[\[\s*([ABC])\s*\]\]")


@dataclass
class SingleVerdict:
    overall: float
    criteria: dict[str, float] = field(default_factory=dict)
    reason: str = ""


def _json_objects(text: str) -> list[dict[str, Any]]:
    decoder = json.JSONDecoder()
    found = []
    for i, ch in enumerate(text):
        if ch == "{":
            try:
                value, _ = decoder.raw_decode(text[i:])
            except ValueError:
                continue
            if isinstance(value, dict):
                found.append(value)
    return found


def _number(value: Any, scale: int) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if 1 <= number <= scale else None


def parse_single(text: str, scale: int) -> SingleVerdict | None:
    """The overall score in 1..scale (and per-criterion scores when given as JSON), or None."""
    norm = unicodedata.normalize("NFKC", text or "")
    for obj in _json_objects(norm):
        overall = _number(obj.get("overall", obj.get("score", obj.get("rating"))), scale)
        if overall is None:
            continue
        given = obj.get("criteria")
        raw: dict[str, Any] = given if isinstance(given, dict) else {}
        criteria = {str(k): v for k, v in ((k, _number(v, scale)) for k, v in raw.items()) if v is not None}
        return SingleVerdict(overall, criteria, str(obj.get("reason", ""))[:400])
    brackets = [v for m in _BRACKETS.finditer(norm) if (v := _number(m.group(1), scale)) is not None]
    if brackets:  # the last one: judges state their final verdict at the end
        return SingleVerdict(brackets[-1])
    plain = _RANGE.sub(" ", norm)
    found: list[tuple[int, float]] = []
    for pattern, of, score in _OUT_OF:
        for m in pattern.finditer(plain):
            value = _number(m.group(score), scale)
            if value is not None and float(m.group(of)) == scale:
                found.append((m.start(), value))
    if found:
        return SingleVerdict(max(found)[1])
    labelled = [v for m in _LABELLED.finditer(plain) if (v := _number(m.group(1), scale)) is not None]
    return SingleVerdict(labelled[-1]) if labelled else None


def parse_pairwise(text: str) -> str | None:
    """'A', 'B' or 'tie', or None."""
    norm = unicodedata.normalize("NFKC", text or "")
    for obj in _json_objects(norm):
        winner = str(obj.get("winner", "")).strip()
        if winner.upper() in ("A", "B"):
            return winner.upper()
        if winner.lower() in ("tie", "c", "draw", "引き分け"):
            return "tie"
    verdicts = _VERDICT.findall(norm)
    if verdicts:
        return {"A": "A", "B": "B", "C": "tie"}[verdicts[-1]]
    if "引き分け" in norm:
        return "tie"
    return None
