"""The one command table: dispatch, completion and /help are all built from it, and /help names the presets and
categories the code defines."""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document

from llamune_eval.categories import CATEGORIES
from llamune_eval.chat.commands import COMMANDS, handlers, help_text
from llamune_eval.chat.editor import SlashCompleter
from llamune_eval.chat.repl import Repl
from llamune_eval.presets import BUILTIN

NAMES = [c.name for c in COMMANDS]


def test_every_name_is_one_command_with_a_handler_the_repl_has() -> None:
    answered = [name for c in COMMANDS for name in (c.name, *c.aliases)]
    assert len(answered) == len(set(answered)) and all(n.startswith("/") and " " not in n for n in answered)
    assert handlers()["/exit"] == handlers()["/quit"] == "c_quit"  # the one alias
    for c in COMMANDS:
        method = getattr(Repl, c.handler)
        assert inspect.iscoroutinefunction(method), c.handler
        assert list(inspect.signature(method).parameters) == ["self", "arg"], c.handler


async def test_each_name_dispatches_to_its_own_handler_with_the_argument() -> None:
    repl = Repl.__new__(Repl)
    calls: list[tuple[str, str]] = []

    def recorder(method: str) -> Callable[[str], Awaitable[str]]:
        async def handler(arg: str) -> str:
            calls.append((method, arg))
            return method

        return handler

    for c in COMMANDS:
        setattr(repl, c.handler, recorder(c.handler))
    for name, method in handlers().items():
        assert await repl.command(f"{name}  引数 two ") == method
        assert calls[-1] == (method, "引数 two")
    assert len(calls) == len(handlers()) == len(COMMANDS) + 1  # every command and the alias /exit


async def test_an_unknown_command_is_a_message(capsys: pytest.CaptureFixture[str]) -> None:
    repl = Repl.__new__(Repl)
    assert await repl.command("/bogus x") is None
    assert "不明なコマンド /bogus" in capsys.readouterr().out


def test_completion_offers_exactly_the_table_with_its_descriptions() -> None:
    completer = SlashCompleter(lambda command: [])
    offered = [(c.text, c.display_meta_text) for c in completer.get_completions(Document("/"), CompleteEvent())]
    assert offered == [(c.name, c.description) for c in COMMANDS]
    assert "/exit" not in [text for text, _ in offered]  # an alias is answered, not offered


def test_the_words_after_a_command_belong_to_commands_of_the_table(tmp_path: Path) -> None:
    from tests.chat.test_runtime import GatedEngine, _runtime

    repl = Repl.__new__(Repl)
    repl.rt = _runtime(tmp_path, GatedEngine(), 1, titles=False)
    words = repl.argument_words()
    assert set(words) <= set(NAMES) and {"/preset", "/category", "/switch", "/rewind"} <= set(words)
    assert words["/preset"] == list(BUILTIN) and words["/category"] == [*CATEGORIES, "auto"]
    assert repl.words("/switch") == ["main", "second", "third"] and repl.words("/history") == []
    repl.rt.db.close()


async def test_help_lists_every_command_once_in_order_with_the_real_preset_and_category_names(
    capsys: pytest.CaptureFixture[str],
) -> None:
    repl = Repl.__new__(Repl)
    await repl.command("/help")
    shown = capsys.readouterr().out
    assert shown == help_text() + "\n"
    lines = shown.splitlines()
    assert lines[0] == "コマンド:"
    heads = [re.split(r"\s{2,}", line.strip(), maxsplit=1)[0] for line in lines[1:]]  # names and arguments
    assert [w.rstrip(",") for head in heads for w in head.split() if w.startswith("/")] == NAMES
    [preset_line] = [line for line in lines if line.lstrip().startswith("/preset ")]
    assert preset_line.endswith(f"（{', '.join(BUILTIN)}）") and len(BUILTIN) == 5
    [category_line] = [line for line in lines if line.lstrip().startswith("/category ")]
    assert category_line.endswith(f"（{', '.join(CATEGORIES)}）") and len(CATEGORIES) == 6
    assert "  /good, /bad [コメント]  最後の回答を評価する（👍 / 👎）" in lines and lines[-1] == "  /help, /quit"
    assert "/exit" not in shown
