"""`llamune`: the lean terminal chat runtime.

Its command line is argparse, not typer: on a terminal `llamune chat` draws its prompt before anything else is
imported (`instant.py`), and typer with click alone would cost ~60 ms of that. No pandas, duckdb, scipy, numpy
or datasets are imported on any of its paths.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    import argparse

DESCRIPTION = "Chat with the local LLMs chosen by this quarter's recommended settings."


def default_db() -> Path:
    from llamune_eval.settings import default_chat_db

    return default_chat_db()


def _parser() -> argparse.ArgumentParser:
    import argparse

    class Formatter(argparse.HelpFormatter):
        def add_usage(self, usage: Any, actions: Any, groups: Any, prefix: str | None = None) -> None:
            super().add_usage(usage, actions, groups, prefix or "Usage: ")

    class Parser(argparse.ArgumentParser):
        def error(self, message: str) -> NoReturn:  # one line, as every other failure
            from llamune_eval.failure import fail

            fail(f"{message} (see {self.prog} --help)", 2)

    top = Parser(prog="llamune", description=DESCRIPTION, formatter_class=Formatter)
    commands = top.add_subparsers(dest="command", title="commands", metavar="COMMAND", parser_class=Parser)
    chat = commands.add_parser(
        "chat",
        formatter_class=Formatter,
        help="Chat: the main model answers, the others cross-check.",
        description="Chat: the main model answers, the other models cross-check in the background.",
    )
    chat.add_argument("--session", "-s", metavar="ID", help="Resume this session.")
    chat.add_argument(
        "--settings", type=Path, metavar="PATH", help="Custom settings (~/.config/llamune/settings.toml)."
    )
    chat.add_argument(
        "--recommended",
        type=Path,
        default=Path("recommended"),
        metavar="DIR",
        help="Folder of recommended settings files (default: recommended).",
    )
    sessions = commands.add_parser(
        "sessions",
        formatter_class=Formatter,
        help="List the chat sessions (newest first), or delete one.",
        description="List the chat sessions (newest first), or delete one.",
    )
    sessions.add_argument("--delete", metavar="ID", help="Delete this session (logically: usage data stays).")
    sessions.add_argument("--json", action="store_true", dest="as_json", help="Print JSON.")
    for sub in (chat, sessions):
        sub.add_argument("--db", type=Path, metavar="PATH", help="Chat database (default: ~/.local/share/llamune).")
    models = commands.add_parser(
        "models",
        formatter_class=Formatter,
        help="List the models every configured engine serves.",
        description="List the models every configured engine serves: size, quantization, context, loaded, memory.",
    )
    models.add_argument("--json", action="store_true", dest="as_json", help="Print JSON instead of a table.")
    for sub in (chat, models):
        sub.add_argument("--config", "-c", type=Path, metavar="PATH", help="Config file (./llamune.toml).")
    return top


def main(argv: list[str]) -> int:
    parser = _parser()
    if not argv:
        parser.print_help()
        return 2
    ns = parser.parse_args(argv)
    if ns.command == "chat":
        from llamune_eval import aio
        from llamune_eval.chat.session_cmd import run_chat
        from llamune_eval.config import load

        cfg = load(ns.config)
        aio.run(run_chat(cfg, ns.db or default_db(), ns.session, ns.settings, ns.recommended))
    elif ns.command == "sessions":
        from llamune_eval.chat.session_cmd import list_sessions

        list_sessions(ns.db or default_db(), ns.delete, ns.as_json)
    elif ns.command == "models":  # the same listing as `llamune-eval models`
        from llamune_eval.listing import show_models

        show_models(ns.config, ns.as_json)
    return 0


def run(argv: list[str] | None = None) -> None:
    from llamune_eval.chat import instant  # standard library only: the prompt comes before anything heavy

    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["chat"] and not {"-h", "--help"} & set(args):
        instant.show()  # the prompt now; keys typed while the rest loads are kept
    from llamune_eval import failure

    failure.BEFORE_FAIL.append(instant.clear)
    failure.guarded(lambda: main(args))


if __name__ == "__main__":
    run()
