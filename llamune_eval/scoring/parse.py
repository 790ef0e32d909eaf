"""Reading an answer out of a chat model's free text, under the two scoring profiles (README: "Scoring profiles").

strict follows the published conventions: the answer is the first non-empty line and must be the label itself
after `strict_normalize`. lenient looks for the label among other words. An answer that could mean two things (a
negated label, a number that is also part of a choice) is a parse failure under both: no profile guesses.
"""

from __future__ import annotations

import re
import unicodedata

_SPACE = re.compile(r"\s+")
_NUMBER = re.compile(r"(?<![\d.\-−])(\d+(?:\.\d+)?)(?![\d]|\.\d)")  # negative numbers are no answer
_PREFIX = re.compile(r"^(?:答え|回答|解答|応答|正解|answer)\s*(?:は|[:：])\s*", re.IGNORECASE)
# what follows a label and turns it around: 矛盾しない, 中立ではない, entailment でない ...
_NEGATED_AFTER = re.compile(
    r"^\s*(?:し(?:ない|ません|ていない)|せず|では(?:ない|なく|ありません)|じゃない|でない|"
    r"ではない|とは(?:言え|いえ)ない|ではなかった|is\s+not|not\b)",
    re.IGNORECASE,
)
_NEGATED_BEFORE = re.compile(r"(?:\bnot\s+|\bno\s+|\bnon-?|[無非不])$", re.IGNORECASE)


def nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def strict_normalize(text: str) -> str:
    """JGLUE's answer normalisation: NFKC, lower-case, every whitespace removed, trailing 「。」 stripped."""
    return _SPACE.sub("", nfkc(text).lower()).rstrip("。")


def answer_line(text: str) -> str:
    """strict: the answer is the first non-empty line, as written."""
    for line in text.strip().splitlines():
        if line.strip():
            return line.strip()
    return ""


def first_line(text: str) -> str:
    """lenient: the first non-empty line without a leading 「答え：」-style label."""
    return _PREFIX.sub("", answer_line(text))


def numbers(text: str) -> list[re.Match[str]]:
    """Standalone decimal numbers of the NFKC text (full-width digits included), in order."""
    return list(_NUMBER.finditer(nfkc(text)))


def negated(text: str, start: int, end: int) -> bool:
    """Whether the word at text[start:end] is negated: 「矛盾しない」, 「not entailment」, 「非中立」."""
    return bool(_NEGATED_AFTER.match(text[end:]) or _NEGATED_BEFORE.search(text[:start]))
