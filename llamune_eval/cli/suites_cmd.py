"""`llamune-eval suites`: what can be run, from where, how many items, which metric."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.markup import escape
from rich.table import Table

from llamune_eval.cli._common import load_config
from llamune_eval.ui import console, err_console, print_json


def show_suites(config: Path | None, as_json: bool) -> None:
    from llamune_eval.benchmarks import UNAVAILABLE, SuiteError, discover

    cfg = load_config(config)
    rows: list[dict[str, Any]] = []
    for ref in discover(cfg):
        try:
            suite = ref.load()
            rows.append(
                {
                    "name": suite.name,
                    "kind": suite.kind,
                    "category": suite.category,
                    "items": len(suite.items),
                    "metric": suite.metric,
                    "version": suite.version,
                    "template": suite.template_version,
                    "source": suite.source,
                    "data": suite.data,
                    "error": None,
                }
            )
        except SuiteError as exc:
            rows.append({"name": ref.name, "kind": ref.kind, "source": ref.source, "error": str(exc)})
    unavailable = [{"name": k, "reason": v} for k, v in UNAVAILABLE.items()]
    if as_json:
        print_json({"suites": rows, "unavailable": unavailable})
        return
    table = Table(title="Suites", title_justify="left")
    for col in ("suite", "kind", "items", "metric", "template", "data", "source"):
        table.add_column(col, justify="right" if col == "items" else "left", no_wrap=col != "source")
    for r in rows:
        if r["error"]:
            table.add_row(escape(r["name"]), r["kind"], "-", "-", "-", "-", f"[red]{escape(r['error'])}[/]")
        else:
            data = r["data"]["origin"] + (f" ({r['data']['dataset']})" if r["data"].get("dataset") else "")
            table.add_row(
                escape(r["name"]),
                r["kind"],
                str(r["items"]),
                r["metric"],
                r["template"],
                escape(data),
                escape(r["source"]),
            )
    console.print(table)
    for u in unavailable:
        console.print(f"[yellow]{u['name']}: unavailable[/] — {u['reason']}")
    if not rows:
        err_console.print("[yellow]no suites found[/]: add suites/ or \\[suites.NAME] entries to llamune.toml")
