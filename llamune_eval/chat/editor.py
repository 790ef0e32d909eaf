"""The line editor of `llamune chat` on a terminal: `line_editor.LineEditor` (history across sessions, multi-line
input, lines printed above the prompt while the user types) with completion of slash commands and their
arguments.

Off a terminal (a pipe, a script) the chat reads lines with `input()` and nothing here is imported.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document

from llamune_eval.chat.commands import descriptions
from llamune_eval.line_editor import LineEditor as _Editor
from llamune_eval.line_editor import history_file, open_fence

__all__ = ["LineEditor", "SlashCompleter", "history_file", "open_fence"]


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


class LineEditor(_Editor):
    """The chat's editor: the shared one, completing slash commands and the words `words(command)` gives."""

    def __init__(self, words: Callable[[str], Iterable[str]], history: Path | None) -> None:
        super().__init__(SlashCompleter(words), history)
