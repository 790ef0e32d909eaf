"""The prompt before the load: `llamune chat` draws `> ` on a terminal within a few milliseconds of starting, and
keeps every key typed while the engine, settings and line editor load.

The terminal stops echoing and hands keys over one by one (ECHO and ICANON off, signals kept), so the keys wait
unseen in its input queue; the line editor reads them as type-ahead when it takes over. The drawn prompt is
cleared before anything else is printed (`clear`), and the terminal is restored at exit. Only the standard
library is imported here, and only when both ends are a terminal.
"""

from __future__ import annotations

import atexit
import contextlib
import os
from typing import Any

_saved: Any = None
_shown = False


def show(prompt: str = "> ") -> bool:
    """Draw the prompt now when stdin and stdout are a terminal; False (and nothing done) otherwise."""
    global _saved, _shown
    if _shown or not (os.isatty(0) and os.isatty(1)):
        return False
    import termios

    try:
        attrs = termios.tcgetattr(0)
        quiet = [*attrs[:6], list(attrs[6])]
        quiet[3] = int(attrs[3]) & ~(termios.ECHO | termios.ICANON)
        quiet[6][termios.VMIN], quiet[6][termios.VTIME] = 1, 0
        termios.tcsetattr(0, termios.TCSANOW, quiet)
    except (termios.error, OSError):
        return False
    _saved = attrs
    atexit.register(restore)
    os.write(1, prompt.encode())
    _shown = True
    return True


def clear() -> None:
    """Give the drawn prompt's line back to what comes next (the header, a message, an error)."""
    global _shown
    if _shown:
        _shown = False
        os.write(1, b"\r\x1b[K")


def restore() -> None:
    """The terminal as it was (echo, line editing), whatever way the process ends short of SIGKILL."""
    global _saved
    clear()
    if _saved is not None:
        import termios

        with contextlib.suppress(termios.error, OSError):
            termios.tcsetattr(0, termios.TCSADRAIN, _saved)
        _saved = None
