"""Reading a label out of a chat model's free-form answer. A miss returns None and counts as a parse failure."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

_NUMBER = re.compile(r"(?<![\d.])(\d+(?:\.\d+)?)(?!\d|\.\d)")


def _nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def parse_index(text: str, choices: Sequence[str]) -> int | None:
    """The chosen option: the first standalone number in range, else the one option whose text appears."""
    norm = _nfkc(text)
    for m in _NUMBER.finditer(norm):
        value = m.group(1)
        if "." not in value and 0 <= int(value) < len(choices):
            return int(value)
    found = [i for i, c in enumerate(choices) if c and _nfkc(c) in norm]
    return found[0] if len(found) == 1 else None


def parse_label(text: str, labels: dict[str, str]) -> str | None:
    """The label whose alias appears first in the answer (aliases: label -> canonical label)."""
    norm = _nfkc(text).lower()
    best: tuple[int, str] | None = None
    for alias, label in labels.items():
        pos = norm.find(alias.lower())
        if pos >= 0 and (best is None or pos < best[0]):
            best = (pos, label)
    return best[1] if best else None


def parse_number(text: str, low: float, high: float) -> float | None:
    """The first number in [low, high]."""
    for m in _NUMBER.finditer(_nfkc(text)):
        value = float(m.group(1))
        if low <= value <= high:
            return value
    return None


def first_line(text: str) -> str:
    """The answer's first non-empty line, without a leading 「答え：」-style label."""
    for line in text.strip().splitlines():
        line = line.strip()
        if line:
            return re.sub(r"^(答え|回答|解答|answer)\s*[:：]\s*", "", line, flags=re.IGNORECASE)
    return ""
