"""What every command shares: config loading, the one-line error contract, sizes for humans."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Annotated, Any, TypeVar

import click
import typer

from llamune_eval.failure import fail, guarded, one_line

__all__ = ["fail", "guarded", "human_bytes", "load_config", "main_wrapper", "models_command", "one_line", "run_async"]

T = TypeVar("T")


def load_config(path: Path | None) -> Any:
    from llamune_eval.config import load

    return load(path)


def run_async(factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    from llamune_eval import aio

    return aio.run(factory())


def human_bytes(n: int | None) -> str:
    if n is None:
        return "-"
    size = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if size < 1024 or unit == "TB":
            return f"{size:.0f} {unit}" if unit in ("B", "KB") else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


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


def models_command(
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="Config file (default: ./llamune.toml).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List the models every configured engine serves: size, quantization, context, loaded, memory."""
    from llamune_eval.cli.models_cmd import show_models

    show_models(config, as_json)
