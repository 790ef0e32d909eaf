"""The line editor both front ends read a person's lines with at a terminal (prompt_toolkit): the chat (with its
slash-command completion, `chat/editor.py`) and `llamune-eval rate`.

- History: one file, 0600 (it holds what was typed); or none, kept in memory. Answers to yes/no questions and
  menus are not kept in it.
- Multi-line: Enter sends, unless a ``` code block is still open; Alt+Enter (Esc, Enter) always starts a new
  line; a pasted block keeps its line breaks.
- Printing above the prompt: while a line is being read, stdout goes through prompt_toolkit's proxy, so a
  background notice appears above the prompt and the half-typed line stays as it was.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from prompt_toolkit import PromptSession
from prompt_toolkit.completion import Completer
from prompt_toolkit.history import FileHistory, History, InMemoryHistory
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
from prompt_toolkit.patch_stdout import patch_stdout


def open_fence(text: str) -> bool:
    """True while a ``` code block is open (an odd number of fence lines): Enter then continues the block."""
    return sum(1 for line in text.splitlines() if line.lstrip().startswith("```")) % 2 == 1


def _bindings() -> KeyBindings:
    keys = KeyBindings()

    @keys.add("enter")
    @keys.add("c-j")  # Enter typed before the editor took over arrives as a line feed
    def _send(event: KeyPressEvent) -> None:
        buffer = event.current_buffer
        if buffer.complete_state is not None and buffer.complete_state.current_completion is not None:
            buffer.apply_completion(buffer.complete_state.current_completion)
            return
        if open_fence(buffer.text):
            buffer.insert_text("\n")
        else:
            buffer.validate_and_handle()

    @keys.add("escape", "enter")
    def _newline(event: KeyPressEvent) -> None:
        event.current_buffer.insert_text("\n")

    return keys


def history_file(path: Path) -> FileHistory:
    """The history file, created 0600 (and made so if it was not): it holds the user's questions."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(path, os.O_CREAT | os.O_APPEND | os.O_WRONLY, 0o600))
    os.chmod(path, 0o600)
    return FileHistory(str(path))


class LineEditor:
    def __init__(self, completer: Completer | None = None, history: Path | None = None) -> None:
        kept: History = history_file(history) if history is not None else InMemoryHistory()
        common: dict[str, Any] = {
            "key_bindings": _bindings(),
            "multiline": True,
            "prompt_continuation": "… ",
            "enable_history_search": False,
        }
        self.main: PromptSession[str] = PromptSession(
            history=kept, completer=completer, complete_while_typing=completer is not None, **common
        )
        self.answers: PromptSession[str] = PromptSession(history=InMemoryHistory(), **common)

    async def read(self, prompt: str, *, keep: bool = True) -> str | None:
        """One line (or block); None at end of input (Ctrl-D on an empty line). Ctrl-C clears the line."""
        session = self.main if keep else self.answers
        while True:
            try:
                with patch_stdout(raw=True):
                    return await session.prompt_async(prompt)
            except KeyboardInterrupt:
                continue
            except EOFError:
                return None
