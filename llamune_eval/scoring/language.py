"""Is an answer in the question's language? A character-class check, enough to catch an English answer to a
Japanese question (the judge is asked to penalise that too, but small judges do not reliably)."""

from __future__ import annotations

import re

_JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uff66-\uff9f]")
_LETTERS = re.compile(r"[A-Za-z\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uff66-\uff9f]")


def japanese_share(text: str) -> float:
    letters = _LETTERS.findall(text)
    return len(_JAPANESE.findall(text)) / len(letters) if letters else 0.0


def language_mismatch(question: str, answer: str) -> bool:
    """A Japanese question answered (at some length) with almost no Japanese."""
    return japanese_share(question) >= 0.3 and len(answer.strip()) >= 20 and japanese_share(answer) < 0.05


def penalised(score: float, scale: int) -> float:
    """The ceiling for an answer in the wrong language: 2 on 1-10, 1 on 1-5."""
    return min(score, 2.0 if scale >= 10 else 1.0)
