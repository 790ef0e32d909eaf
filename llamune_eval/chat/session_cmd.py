"""What `llamune chat` and `llamune sessions` do, behind the command line."""

from __future__ import annotations

from pathlib import Path

from llamune_eval.chat import instant
from llamune_eval.chat.db import ChatDB, ChatDBError
from llamune_eval.config import Config
from llamune_eval.settings import Active
from llamune_eval.types import InputError
from llamune_eval.ui import console, err_console, prepare_embedded, print_json


async def run_chat(cfg: Config, db_path: Path, session: str | None, settings: Path | None, recommended: Path) -> None:
    from llamune_eval.chat.repl import Repl
    from llamune_eval.chat.runtime import ChatRuntime, permanent_system
    from llamune_eval.chat.settings_cmd import choose_settings
    from llamune_eval.engines import EmbeddedBackend, open_engine

    permanent_system()  # a system.txt that cannot be read is one line now, not an error on every question
    try:
        db = ChatDB(db_path)
    except ChatDBError as exc:
        raise InputError(str(exc)) from exc
    async with open_engine(cfg) as engine:
        for backend in engine.backends:
            if isinstance(backend, EmbeddedBackend):
                for problem in prepare_embedded(backend):
                    instant.clear()
                    err_console.print(f"[yellow]warning:[/] {problem}")
        installed = [m.name for m in await engine.list_models()]
        try:
            active = choose_settings(db, recommended, settings)
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
            await Repl(runtime, recommended_dir=recommended, history=history).run()
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
