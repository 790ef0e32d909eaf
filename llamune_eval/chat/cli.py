"""`llamune`: the lean terminal chat runtime. Imports stay light: no pandas, duckdb, scipy or datasets."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from llamune_eval.cli._common import main_wrapper

app = typer.Typer(
    name="llamune",
    help="Chat with the local LLMs chosen by this quarter's recommended settings.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


@app.command()
def models(
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="Config file (default: ./llamune.toml).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List the installed models of every configured engine."""
    from llamune_eval.cli.models_cmd import show_models

    show_models(config, as_json)


@app.callback()
def _root() -> None:
    """Chat with the local LLMs chosen by this quarter's recommended settings."""


def run() -> None:
    main_wrapper(app)


if __name__ == "__main__":
    run()
