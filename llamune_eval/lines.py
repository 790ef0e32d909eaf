"""Reading a person's lines: the line editor at a terminal, `input()` from a pipe, a script or a test. Shared by
both front ends (the chat, `llamune-eval rate`)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from typing import Any


class PlainReader:
    """Lines from a pipe, a script or a test: a blocking `read(prompt)` (default `input`) run in a thread, so
    background answers keep arriving meanwhile; EOFError is the end of input."""

    def __init__(self, read: Callable[[str], str] = input) -> None:
        self.call = read

    async def read(self, prompt: str, *, keep: bool = True) -> str | None:
        try:
            return await asyncio.to_thread(self.call, prompt)
        except EOFError:
            return None


def reader() -> Any:
    """The line editor (no completion, no history file) when a person is at a terminal, else a `PlainReader`."""
    if sys.stdin.isatty() and sys.stdout.isatty():
        from llamune_eval.line_editor import LineEditor

        return LineEditor()
    return PlainReader()
