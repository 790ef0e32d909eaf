"""Real programs the tests drive where users run them (chromium, nginx): found, or the test skips, or, when the
environment says the program must be there (CI), fails."""

from __future__ import annotations

import os

import pytest


def require(exe: str | None, why: str, flag: str) -> str:
    """`exe`; when it is None, skip with `why`, or fail when `$flag` is 1."""
    if exe is not None:
        return exe
    if os.environ.get(flag) == "1":
        pytest.fail(f"{why} ({flag}=1)")
    pytest.skip(why)
