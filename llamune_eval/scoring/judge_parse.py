"""Reading a judge's verdict tolerantly: JSON first, then the MT-Bench-style `[[8]]`, `評価：[[8]]`, `Rating: 8/10`.

Anything that cannot be read returns `None` — it is stored as a parse failure with its raw text, never guessed
into a score, and the function never raises on any input.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

_BRACKETS = re.compile(r"\[\[\s*(\d+(?:\.\d+)?)\s*\]\]")
_LABELLED = re.compile(r"(?:評価|総合評価|スコア|点数|rating|score)\s*[:：は]?\s*(\d+(?:\.\d+)?)\s*(?:/\s*\d+|点)?",
                       re.IGNORECASE)  # fmt: skip
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
    for pattern in (_BRACKETS, _LABELLED):
        matches = [m for m in pattern.finditer(norm) if _number(m.group(1), scale) is not None]
        if matches:  # the last one: judges state their final verdict at the end
            value = _number(matches[-1].group(1), scale)
            assert value is not None
            return SingleVerdict(value)
    return None


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
