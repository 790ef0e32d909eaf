"""What `llamune chat` and `llamune sessions` do, behind the command line."""

from __future__ import annotations

from pathlib import Path

from llamune_eval.chat import instant
from llamune_eval.chat.db import ChatDB, ChatDBError
from llamune_eval.config import Config
from llamune_eval.settings import Active
from llamune_eval.types import InputError
from llamune_eval.ui import console, err_console, prepare_embedded, print_json


def settings_folder(cfg: Config, given: Path | None) -> Path:
    """The folder a session reads recommended settings from: `--recommended`, else the user's own settings folder
    when a channel delivers into it, else `recommended` in the working directory (the operator's checkout)."""
    if given is not None:
        return given
    if cfg.chat.channel:
        from llamune_eval.settings import local_settings_dir

        return local_settings_dir()
    return Path("recommended")


async def run_chat(
    cfg: Config, db_path: Path, session: str | None, settings: Path | None, recommended: Path | None
) -> None:
    from llamune_eval.chat.repl import Repl
    from llamune_eval.chat.runtime import ChatRuntime, permanent_system
    from llamune_eval.chat.settings_cmd import Sources, choose_settings
    from llamune_eval.chat.share_cmd import sharing_for
    from llamune_eval.engines import EmbeddedBackend, open_engine

    folder = settings_folder(cfg, recommended)
    sources = Sources(folder, settings, cfg.chat.memory_gb, cfg.chat.public_key)

    permanent_system()  # a system.txt that cannot be read is one line now, not an error on every question
    try:
        db = ChatDB(db_path)
    except ChatDBError as exc:
        raise InputError(str(exc)) from exc
    async with open_engine(cfg) as engine:
        for backend in engine.backends:
            if isinstance(backend, EmbeddedBackend):
                backend.cache_ram_mib = 0  # a user's machine holds what the quarter measured, no prompt store beside
                for problem in prepare_embedded(backend):
                    instant.clear()
                    err_console.print(f"[yellow]warning:[/] {problem}")
        installed = [m.name for m in await engine.list_models()]
        try:
            active = choose_settings(db, sources)
        except InputError as exc:
            active = Active(
                source="installed",
                version=None,
                models=[],
                execution_order=installed,
                concurrent_limit=1,
                reason=f"{exc}: using the installed models",
            )
        runtime = ChatRuntime(engine, db, active, installed, titles=cfg.chat.titles)
        try:
            runtime.start(session)
        except KeyError as exc:
            raise InputError(f"no session {session!r} (see `llamune sessions`)") from exc
        try:
            history = db_path.with_name("history") if cfg.chat.history else None  # beside the database, 0600
            sharing = sharing_for(cfg.chat, db, folder) if cfg.chat.channel or cfg.chat.usage_drop else None
            await Repl(runtime, history=history, sources=sources, sharing=sharing).run()
        finally:
            await runtime.wait_background()
            db.close()


def list_sessions(db_path: Path, delete: str | None, as_json: bool) -> None:
    from llamune_eval.chat.runtime import permanent_system

    permanent_system()  # a system.txt that cannot be read is one line now, not an error on every question
    try:
        db = ChatDB(db_path)
    except ChatDBError as exc:
        raise InputError(str(exc)) from exc
    try:
        if delete:
            if db.session(delete) is None:
                raise InputError(f"no session {delete!r}")
            db.delete_session(delete)
            err_console.print(f"deleted session {delete}")
            return
        rows = db.sessions()
        if as_json:
            print_json(rows)
            return
        for r in rows:
            console.print(
                f"{r['id']}  {r['updated_at'][:16]}  {r['model']}  {r['turns']} 問  {r['title'] or ''}",
                highlight=False,
                markup=False,
            )
        if not rows:
            console.print("セッションはまだありません")
    finally:
        db.close()


def export_usage(cfg: Config, db_path: Path, since: str | None, out: Path | None, force: bool) -> None:
    """`llamune usage export`: the shared events as JSON Lines, to a file (whole, by a temporary name) or stdout."""
    import re
    import sys

    from llamune_eval.chat.share import export

    if since is not None and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", since):
        raise InputError(f"--since {since!r}: give a date as YYYY-MM-DD")
    if not db_path.is_file():
        raise InputError(f"{db_path}: no chat database (llamune chat writes one)")
    if out is not None and out.exists() and not force:
        raise InputError(f"{out}: already exists; --force overwrites it")
    lines = export(cfg.chat, db_path, settings_folder(cfg, None), since)
    text = "".join(line + "\n" for line in lines)
    if out is None:
        sys.stdout.write(text)
        return
    from llamune_eval.channel.transport import write_atomic

    write_atomic(out, text.encode())
    err_console.print(f"{len(lines)} usage events written to {out} (no conversation content)", markup=False)
