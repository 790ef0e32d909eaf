"""The quarter arithmetic, written once: which quarter a run is for, how published versions (a quarter, or its
revision) order, and the quarter before. Lean: the standard library only (the chat reads it)."""

from __future__ import annotations

import re
from datetime import date

from llamune_eval.types import QUARTER_PATTERN

QUARTER = re.compile(QUARTER_PATTERN)
VERSION = re.compile(r"^(\d{4})-Q([1-4])(?:\.([2-9]|[1-9]\d+))?$")  # a published quarter, or its revision 2, 3, ...


def next_quarter(today: date | None = None) -> str:
    """The quarter the settings are for: the one after today's (month 3 prepares the next quarter)."""
    today = today or date.today()
    q = (today.month - 1) // 3 + 1
    return f"{today.year + 1}-Q1" if q == 4 else f"{today.year}-Q{q + 1}"


def resolve_quarter(given: str | None, configured: str | None) -> str:
    """The quarter a command works on: the option, else `[run] quarter`, else the next one by today's date.
    Resolved once when a command or a run starts and passed down, so a run whose clock crosses a quarter boundary
    records, races and decides one quarter."""
    return given or configured or next_quarter()


def version_key(version: str) -> tuple[int, int, int]:
    """(year, quarter, revision) for ordering versions: 2027-Q1 < 2027-Q1.2 < 2027-Q1.10 < 2027-Q2."""
    m = VERSION.match(version)
    if not m:
        return (0, 0, 0)
    return (int(m.group(1)), int(m.group(2)), int(m.group(3) or 1))


def is_newer(version: str | None, than: str | None) -> bool:
    """Whether `version` is a later publication than `than` (a missing version is older than any)."""
    return version_key(version or "") > version_key(than or "")


def quarter_of(version: str) -> str:
    """The quarter a version (or revision) is for."""
    return version.split(".", 1)[0]


def previous_quarter(quarter: str) -> str:
    year, q = int(quarter[:4]), int(quarter[-1])
    return f"{year - 1}-Q4" if q == 1 else f"{year}-Q{q - 1}"
