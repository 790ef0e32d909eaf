"""`llamune`: the lean terminal chat runtime. Imports stay light: no pandas, duckdb, scipy or datasets."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from llamune_eval.cli._common import main_wrapper, models_command

app = typer.Typer(
    name="llamune",
    help="Chat with the local LLMs chosen by this quarter's recommended settings.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
ConfigOpt = Annotated[Path | None, typer.Option("--config", "-c", help="Config file (./llamune.toml).")]
DbOpt = Annotated[Path | None, typer.Option("--db", help="Chat database (default: ~/.local/share/llamune).")]


def default_db() -> Path:
    from llamune_eval.settings import default_chat_db

    return default_chat_db()


@app.command()
def chat(
    session: Annotated[str | None, typer.Option("--session", "-s", help="Resume this session.")] = None,
    settings: Annotated[Path | None, typer.Option(help="Custom settings (~/.config/llamune/settings.toml).")] = None,
    recommended: Annotated[Path, typer.Option(help="Folder of recommended settings files.")] = Path("recommended"),
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Chat: the main model answers, the other models cross-check in the background."""
    from llamune_eval.chat.session_cmd import run_chat
    from llamune_eval.cli._common import load_config, run_async

    cfg = load_config(config)
    run_async(lambda: run_chat(cfg, db or default_db(), session, settings, recommended))


@app.command()
def sessions(
    delete: Annotated[str | None, typer.Option(help="Delete this session (logically: usage data stays).")] = None,
    db: DbOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the chat sessions (newest first), or delete one."""
    from llamune_eval.chat.session_cmd import list_sessions

    list_sessions(db or default_db(), delete, as_json)


app.command("models")(models_command)  # the same command as `llamune-eval models`


def run() -> None:
    main_wrapper(app)


if __name__ == "__main__":
    run()
