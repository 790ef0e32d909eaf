"""What every command shares: config loading, the one-line error contract, table cells."""

from __future__ import annotations

import math
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import click
import typer

from llamune_eval.failure import fail, guarded

__all__ = ["cell", "fail", "load_config", "main_wrapper", "run_async"]

T = TypeVar("T")


def cell(value: Any, digits: int = 3) -> str:
    """A table cell: a float to `digits` places, a missing or NaN figure as "-", anything else as it is."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def load_config(path: Path | None) -> Any:
    from llamune_eval.config import load

    return load(path)


def run_async(factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    from llamune_eval import aio

    return aio.run(factory())


def main_wrapper(app: Callable[..., Any]) -> None:
    """Run a Typer app under the shared one-line contract; click's own failures become that line too."""

    def call() -> object:
        try:
            return app(standalone_mode=False)
        except (click.exceptions.Abort, typer.Abort):
            fail("interrupted", 130)
        except (
            click.ClickException,
            getattr(typer, "TyperException", click.ClickException),
        ) as exc:  # typer may vendor click
            show = getattr(exc, "show", None)
            if show is None:
                raise
            if type(exc).__name__ == "NoArgsIsHelpError":  # a bare group: its help, as asked
                show()
                raise SystemExit(getattr(exc, "exit_code", 2)) from None
            ctx = getattr(exc, "ctx", None)  # a usage error: one line, with where to read the usage
            hint = f" (see {ctx.command_path} --help)" if ctx is not None else ""
            fail(f"{exc.format_message()}{hint}", getattr(exc, "exit_code", 2))

    guarded(call)
