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
        metavar="DIR",
        help="Folder of recommended settings files (default: ~/.local/share/llamune/recommended with a [chat] "
        "channel, else ./recommended).",
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
    usage = commands.add_parser(
        "usage",
        formatter_class=Formatter,
        help="This machine's usage as the organisation receives it (no conversation content).",
        description="This machine's usage as the organisation receives it: no question, answer, system prompt, "
        "title or artifact; comments only with [chat] share_comments.",
    )
    usage_commands = usage.add_subparsers(dest="usage_command", title="commands", metavar="COMMAND",
                                          parser_class=Parser, required=True)  # fmt: skip
    export = usage_commands.add_parser(
        "export",
        formatter_class=Formatter,
        help="Write the usage events as JSON Lines, without content.",
        description="Write the usage events as JSON Lines, without content, each with this user's pseudonym "
        "([chat] org_salt), the machine's memory tier and the llamune version.",
    )
    export.add_argument("--since", metavar="DATE", help="Only events from this date on (YYYY-MM-DD).")
    export.add_argument("-o", "--out", type=Path, metavar="FILE", help="Write to FILE (default: standard output).")
    export.add_argument("--force", action="store_true", help="Overwrite FILE if it exists.")
    export.add_argument("--db", type=Path, metavar="PATH", help="Chat database (default: ~/.local/share/llamune).")
    export.add_argument("--config", "-c", type=Path, metavar="PATH", help="Config file (./llamune.toml).")
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
    elif ns.command == "usage":
        from llamune_eval.chat.session_cmd import export_usage
        from llamune_eval.config import load

        export_usage(load(ns.config), ns.db or default_db(), ns.since, ns.out, ns.force)
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
