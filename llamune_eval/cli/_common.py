"""What every command shares: config loading, the one-line error contract, sizes for humans."""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import click
import typer

from llamune_eval.ui import err_console

T = TypeVar("T")


def one_line(text: str) -> str:
    """A message as one printable line: line breaks, control characters and undecodable bytes of a file name
    (surrogates) escaped as Python writes them."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


def fail(message: str, code: int = 1) -> NoReturn:
    """The one `error:` line; the message is text (a path or value holding `[/]` or `:x:` is shown as it is)."""
    from rich.text import Text

    err_console.print(Text.assemble(("error:", "bold red"), " ", one_line(message)), soft_wrap=True)
    raise SystemExit(code)


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


def human_count(n: int | None) -> str:
    if not n:
        return "-"
    for scale, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
        if n >= scale:
            return f"{n / scale:.3g}{suffix}"
    return str(n)


TYPER_ERROR: type[Exception] = getattr(typer, "TyperException", click.ClickException)  # newer typer vendors click


def main_wrapper(app: Callable[..., Any]) -> None:
    """Run a Typer app so that every expected failure is one clear line and a non-zero exit, not a traceback."""
    from llamune_eval.config import ConfigError
    from llamune_eval.types import EngineError, InputError

    def _term(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)  # run atexit hooks (embedded children are stopped there)

    signal.signal(signal.SIGTERM, _term)
    try:
        code = app(standalone_mode=False)
    except (click.exceptions.Abort, typer.Abort):
        fail("interrupted", 130)
    except KeyboardInterrupt:
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
    except ConfigError as exc:
        fail(f"config: {exc}", 2)
    except EngineError as exc:
        fail(f"engine {exc}")
    except InputError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc))
    except RuntimeError as exc:
        fail(str(exc))
    except Exception as exc:
        if type(exc).__module__.split(".")[0] not in ("duckdb", "_duckdb", "sqlite3"):
            raise
        fail(f"store: {str(exc).splitlines()[0][:300]}")  # a database error a check did not foresee: one line
    sys.exit(code if isinstance(code, int) else 0)


def models_command(
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="Config file (default: ./llamune.toml).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List the models every configured engine serves: size, quantization, context, loaded, memory."""
    from llamune_eval.cli.models_cmd import show_models

    show_models(config, as_json)
