"""The installed models, as both front ends list them (`llamune-eval models`, `llamune models`): what every
configured engine serves, its size, quantization, context, and whether it is loaded and in how much memory."""

from __future__ import annotations

from pathlib import Path

from rich.table import Table

from llamune_eval.ui import console, err_console, prepare_embedded, print_json


def human_bytes(n: int | None) -> str:
    if n is None:
        return "-"
    size = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if size < 1024 or unit == "TB":
            return f"{size:.0f} {unit}" if unit in ("B", "KB") else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


async def _collect(config: Path | None) -> tuple[list[dict[str, object]], list[str]]:
    from llamune_eval.config import load
    from llamune_eval.engines import EmbeddedBackend, open_engine

    cfg = load(config)
    rows: list[dict[str, object]] = []
    problems: list[str] = []
    async with open_engine(cfg) as engine:
        for backend in engine.backends:
            if isinstance(backend, EmbeddedBackend):
                problems += prepare_embedded(backend)
        health, models, loaded = await engine.health(), await engine.list_models(), await engine.loaded()
        problems += [f"{h.engine} {h.endpoint}: {h.detail}" for h in health if not h.ok]
        resident = {(m.engine, m.name): m for m in loaded}
        for m in models:
            live = resident.get((m.engine, m.name))
            rows.append(
                m.model_dump() | {"loaded": live is not None, "memory_bytes": live.memory_bytes if live else None}
            )
    return rows, problems


def show_models(config: Path | None, as_json: bool) -> None:
    """`llamune-eval models` and `llamune models`: a table, or `--json`; what an engine could not say is a warning."""
    from llamune_eval import aio

    rows, problems = aio.run(_collect(config))
    if as_json:
        print_json({"models": rows, "problems": problems})
        return
    table = Table(title="Models", title_justify="left")
    table.add_column("engine", no_wrap=True)
    table.add_column("model", no_wrap=True)
    for col in ("size", "quant", "context", "loaded", "memory"):
        table.add_column(col, justify="right", no_wrap=True)
    for r in rows:
        where = str(r["engine"]) if r["endpoint"] == r["engine"] else f"{r['engine']} {r['endpoint']}"
        table.add_row(
            where,
            str(r["name"]),
            human_bytes(r["size_bytes"]),  # type: ignore[arg-type]
            str(r["quantization"] or "-"),
            str(r["context_length"] or "-"),
            "yes" if r["loaded"] else "no",
            human_bytes(r["memory_bytes"]),  # type: ignore[arg-type]
        )
    console.print(table)
    for p in problems:
        err_console.print(f"[yellow]warning:[/] {p}")
    if not rows:
        err_console.print("[yellow]no models found[/]: configure an engine in llamune.toml (see README)")
