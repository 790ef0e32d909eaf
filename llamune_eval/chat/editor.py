"""The line editor of `llamune chat` on a terminal (prompt_toolkit): history across sessions, completion of slash
commands and their arguments, multi-line input, and lines printed above the prompt while the user types.

- History: one file beside the chat database, 0600 (it holds the questions, as the database does); off with
  `[chat] history = false`. Answers to yes/no questions and menus are not kept in it.
- Multi-line: Enter sends, unless a ``` code block is still open; Alt+Enter (Esc, Enter) always starts a new
  line; a pasted block keeps its line breaks.
- Printing above the prompt: while a line is being read, stdout goes through prompt_toolkit's proxy, so a
  background notice appears above the prompt and the half-typed line stays as it was.

Off a terminal (a pipe, a script) the chat reads lines with `input()` and nothing here is imported.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from prompt_toolkit import PromptSession
from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document
from prompt_toolkit.history import FileHistory, History, InMemoryHistory
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
from prompt_toolkit.patch_stdout import patch_stdout

from llamune_eval.chat.commands import descriptions


def open_fence(text: str) -> bool:
    """True while a ``` code block is open (an odd number of fence lines): Enter then continues the block."""
    return sum(1 for line in text.splitlines() if line.lstrip().startswith("```")) % 2 == 1


class SlashCompleter(Completer):
    """Slash commands (with their descriptions), then the words each one takes (models, presets, categories, …),
    asked of the session at the moment of completion."""

    def __init__(self, words: Callable[[str], Iterable[str]]) -> None:
        self.commands = descriptions()
        self.words = words

    def get_completions(self, document: Document, complete_event: CompleteEvent) -> Iterable[Completion]:
        text = document.text_before_cursor
        if not text.startswith("/") or "\n" in text:
            return
        name, space, arg = text.partition(" ")
        if not space:
            for command, meta in self.commands.items():
                if command.startswith(name):
                    yield Completion(command, -len(name), display_meta=meta)
            return
        if " " in arg.strip():  # only the first argument is completed
            return
        for word in self.words(name):
            if word.startswith(arg):
                yield Completion(word, -len(arg))


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
    def __init__(self, words: Callable[[str], Iterable[str]], history: Path | None) -> None:
        kept: History = history_file(history) if history is not None else InMemoryHistory()
        common: dict[str, Any] = {
            "key_bindings": _bindings(),
            "multiline": True,
            "prompt_continuation": "… ",
            "enable_history_search": False,
        }
        self.main: PromptSession[str] = PromptSession(
            history=kept, completer=SlashCompleter(words), complete_while_typing=True, **common
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
