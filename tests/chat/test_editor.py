"""The line editor (prompt_toolkit) and the prompt drawn before loading, driven with keys as a terminal sends them."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest
from prompt_toolkit.application import create_app_session
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from llamune_eval.chat.editor import LineEditor, SlashCompleter, history_file, open_fence

WORDS = {"/preset": ["balanced", "creative", "fast", "code", "general"], "/rewind": ["3", "2", "1"]}


def _complete(text: str) -> list[tuple[str, str]]:
    completer = SlashCompleter(lambda command: WORDS.get(command, []))
    found = completer.get_completions(Document(text), CompleteEvent(completion_requested=True))
    return [(c.text, c.display_meta_text) for c in found]


def test_slash_commands_and_their_arguments_complete() -> None:
    assert _complete("/pre") == [("/preset", "プリセットを切り替える（balanced, creative, fast, code, general）")]
    assert [t for t, _ in _complete("/r")] == ["/retry", "/rewind", "/rate"]
    assert [t for t, _ in _complete("/preset c")] == ["creative", "code"]
    assert [t for t, _ in _complete("/rewind ")] == ["3", "2", "1"]
    assert _complete("こんにちは /pre") == [] and _complete("/preset code x") == []  # questions are not completed


def test_a_code_fence_keeps_the_block_open() -> None:
    assert open_fence("```python\nprint(1)") and not open_fence("```python\nprint(1)\n```")
    assert not open_fence("普通の質問") and open_fence("見て:\n  ```\nx")


async def _read(history: Path, keys: str, *, keep: bool = True) -> str | None:
    """One `llamune chat` reading one line from keys as a terminal sends them (the history file persists)."""
    with create_pipe_input() as pipe, create_app_session(input=pipe, output=DummyOutput()):
        pipe.send_text(keys)
        return await LineEditor(lambda command: [], history).read("> ", keep=keep)


async def test_enter_sends_unless_a_code_block_is_open_and_alt_enter_breaks_the_line(tmp_path: Path) -> None:
    editor = tmp_path / "history"
    assert await _read(editor, "```python\rprint(1)\r```\r") == "```python\nprint(1)\n```"
    assert await _read(editor, "一行目\x1b\r二行目\r") == "一行目\n二行目"
    assert await _read(editor, "早打ち\n") == "早打ち"  # Enter typed before the editor took over is a line feed
    assert await _read(editor, "\x04") is None  # Ctrl-D on an empty line: the end
    assert await _read(editor, "消す\x03やり直し\r") == "やり直し"  # Ctrl-C clears the line, not the session


async def test_history_is_kept_across_sessions_in_a_private_file(tmp_path: Path) -> None:
    path = tmp_path / "llamune" / "history"
    assert await _read(path, "社外秘の質問\r") == "社外秘の質問"
    assert await _read(path, "yes\r", keep=False) == "yes"  # an answer to yes/no is not history
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert "+社外秘の質問" in path.read_text(encoding="utf-8") and "+yes" not in path.read_text(encoding="utf-8")
    assert await _read(path, "\x1b[A\r") == "社外秘の質問"  # the next `llamune chat`: Up recalls it


def test_a_history_file_made_readable_by_others_is_made_private_again(tmp_path: Path) -> None:
    path = tmp_path / "history"
    path.write_text("\n# old\n+x\n", encoding="utf-8")
    path.chmod(0o644)
    history_file(path)
    assert os.stat(path).st_mode & 0o777 == 0o600 and "+x" in path.read_text(encoding="utf-8")


CHILD = """
import os, sys, termios, time
from llamune_eval.chat import instant
shown = instant.show()
echo = bool(termios.tcgetattr(0)[3] & termios.ECHO)
time.sleep(0.5)  # loading: the person types meanwhile (the keys then wait in the terminal; nothing asserts a time)
typed = b""
while len(typed) < len("early"):  # however the terminal hands them over
    typed += os.read(0, 100)
typed = typed.decode()
instant.clear()
instant.restore()
after = bool(termios.tcgetattr(0)[3] & termios.ECHO)
print(f"|shown={shown} echo={echo} typed={typed!r} after={after}|", flush=True)
"""


def _shown(master: int, text: bytes, timeout: float = 30) -> bytes:
    """What the terminal showed up to `text`; fails if it never does."""
    seen = b""
    deadline = time.monotonic() + timeout
    while text not in seen:
        if time.monotonic() > deadline:
            raise AssertionError(f"{text!r} never shown: {seen!r}")
        if select.select([master], [], [], 0.05)[0]:
            seen += os.read(master, 1000)
    return seen


def _rest(master: int) -> bytes:
    """The rest of what was shown, once the program has ended and nothing else holds the terminal: read to its end
    (the terminal then reports EIO), so no output can still be on its way."""
    out = b""
    while True:
        try:
            chunk = os.read(master, 1000)
        except OSError:
            return out
        if not chunk:
            return out
        out += chunk


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="pseudo-terminals as Linux has them")
def test_the_prompt_is_drawn_at_once_and_keys_typed_while_loading_are_kept() -> None:
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-c", CHILD], stdin=slave, stdout=slave, stderr=slave)
    os.close(slave)
    seen = _shown(master, b"> ")
    os.write(master, b"early")
    proc.wait(timeout=30)
    seen += _rest(master)
    os.close(master)
    text = seen.decode(errors="replace")
    assert text.startswith("> ")  # the first thing on screen
    assert "|shown=True echo=False typed='early' after=True|" in text
    assert "early" not in text.split("|")[0]  # not echoed over the loading screen: the editor shows it later
    assert "\r\x1b[K" in text  # the drawn prompt gives its line to what comes next


def test_off_a_terminal_nothing_is_drawn() -> None:
    code = "from llamune_eval.chat import instant; print(instant.show(), instant._saved, instant._shown)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert out.stdout == "False None False\n"  # the terminal is not taken over, nothing is drawn


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="pseudo-terminals as Linux has them")
def test_an_error_after_the_prompt_was_drawn_takes_its_line_and_the_terminal_is_given_back(tmp_path: Path) -> None:
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "llamune_eval.chat.cli", "chat", "-c", "missing.toml"],
                            cwd=tmp_path, stdin=slave, stdout=slave, stderr=slave)  # fmt: skip
    proc.wait(timeout=60)  # one line of output: the terminal holds it until it is read
    import re
    import termios

    echo = bool(termios.tcgetattr(slave)[3] & termios.ECHO)  # the terminal as the process left it
    os.close(slave)
    seen = _rest(master)
    os.close(master)
    text = seen.decode(errors="replace")
    assert proc.returncode == 2
    assert text.startswith("> \r\x1b[K")  # drawn, then cleared for the one line
    shown = re.sub(r"\x1b\[[0-9;]*m", "", text[len("> \r\x1b[K") :])
    assert shown == "error: config: missing.toml: no such config file\r\n"
    assert echo  # it echoes again
