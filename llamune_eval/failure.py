"""The one-line error contract both front ends keep (`llamune-eval` on typer, `llamune` on argparse): every
expected failure is one `error:` line naming the file or place, and a non-zero exit, never a traceback.

Neutral on purpose: it imports nothing heavy at module level, so the chat runtime can use it before its prompt.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable
from typing import NoReturn

BEFORE_FAIL: list[Callable[[], object]] = []  # run before the error line is printed


def one_line(text: str) -> str:
    """A message as one printable line: line breaks, control characters and undecodable bytes of a file name
    (surrogates) escaped as Python writes them."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


def fail(message: str, code: int = 1) -> NoReturn:
    """The one `error:` line; the message is text (a path or value holding `[/]` or `:x:` is shown as it is)."""
    from rich.text import Text

    from llamune_eval.ui import err_console

    for hook in BEFORE_FAIL:  # e.g. the chat prompt drawn ahead of loading gives its line to the error
        hook()
    err_console.print(Text.assemble(("error:", "bold red"), " ", one_line(message)), soft_wrap=True)
    raise SystemExit(code)


def guarded(call: Callable[[], object]) -> NoReturn:
    """Run a command so that the failures it can meet (config, engine, input, files, databases, Ctrl-C) end as
    one line with their exit code; anything else is a bug and keeps its traceback."""

    def _term(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)  # run atexit hooks (embedded children are stopped there)

    signal.signal(signal.SIGTERM, _term)
    try:
        code = call()
    except KeyboardInterrupt:
        fail("interrupted", 130)
    except Exception as exc:
        explained = _explain(exc)
        if explained is None:
            raise
        fail(*explained)
    sys.exit(code if isinstance(code, int) else 0)


def _explain(exc: Exception) -> tuple[str, int] | None:
    """The line and exit code for a failure a command can meet; None for a bug. The error classes are looked up
    only among modules already loaded (one that was never imported cannot have raised), so `--help` and the
    chat's first lines load none of them."""
    config, types = sys.modules.get("llamune_eval.config"), sys.modules.get("llamune_eval.types")
    if config is not None and isinstance(exc, config.ConfigError):
        return f"config: {exc}", 2
    if types is not None and isinstance(exc, types.EngineError):
        return f"engine {exc}", 1
    if types is not None and isinstance(exc, types.InputError):
        return str(exc), 1
    if isinstance(exc, OSError):
        return (f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc)), 1
    if isinstance(exc, RuntimeError):
        return str(exc), 1
    if type(exc).__module__.split(".")[0] in ("duckdb", "_duckdb", "sqlite3"):
        return f"store: {str(exc).splitlines()[0][:300]}", 1  # a database error a check did not foresee
    return None
