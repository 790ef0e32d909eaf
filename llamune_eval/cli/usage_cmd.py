"""`llamune-eval usage` and `llamune-eval usage ingest`."""

from __future__ import annotations

from pathlib import Path

from rich.markup import escape
from rich.table import Table

from llamune_eval.cli._common import cell, load_config
from llamune_eval.ui import console, err_console, print_json


def ingest_paths(config: Path | None, paths: list[Path], store_path: Path | None) -> None:
    from llamune_eval.store.results import Store
    from llamune_eval.usage import ingest

    cfg = load_config(config)
    with Store(store_path or cfg.paths.store) as store:
        for r in ingest(store, paths):
            err_console.print(f"{r.source}: {r.read} events read, {r.added} new", markup=False)


def report(config: Path | None, quarter: str | None, store_path: Path | None, as_json: bool) -> None:
    from llamune_eval.store.results import Store
    from llamune_eval.usage import usage_metrics

    cfg = load_config(config)
    with Store(store_path or cfg.paths.store) as store:
        metrics = usage_metrics(store, quarter, seed=cfg.run.seed, targets=cfg.usage.targets)
    if as_json:
        print_json(metrics)
        return
    who = metrics["users"]
    console.print(
        f"users {who['active']} · sessions {who['sessions']} · conversations {who['conversations']} · "
        f"satisfaction {cell(who['satisfaction'], 2)} ({who['rated']} rated)",
        markup=False,
    )
    for k in metrics["kpis"]:
        mark = {True: "met", False: "not met", None: "no data"}[k["met"]]
        console.print(f"  KPI {k['label']}: {cell(k['value'], 2)} / {k['target']} ({mark})", markup=False)
    table = Table(title=f"Model usage{f' ({quarter})' if quarter else ''}", title_justify="left")
    for col in ("model", "count", "avg time (s)", "success", "rating", "rated"):
        table.add_column(col, justify="left" if col == "model" else "right")
    for model, m in metrics["modelUsage"].items():
        table.add_row(
            escape(model),
            str(m["count"]),
            cell(m["averageExecutionTime"], 2),
            cell(m["successRate"], 2),
            cell(m["userRating"], 2),
            str(m["ratings"]),
        )
    console.print(table)
    fb = metrics["userFeedback"]
    console.print(f"👍 {fb['thumbsUp']}  👎 {fb['thumbsDown']}  comments: {len(fb['comments'])}")
    for comment in fb["comments"][-5:]:
        console.print(f"  「{comment}」", highlight=False, markup=False)
    for category, rows in metrics["taskPerformance"].items():
        console.print(
            f"{category}: " + ", ".join(f"{r['model']} ×{r['count']}" for r in rows), highlight=False, markup=False
        )
    for config_name, a in metrics["retryAdoption"].items():
        console.print(f"/retry {config_name}: {a['adopted']}/{a['retries']} adopted", markup=False)
    for name, (point, low, high) in metrics["retryBradleyTerry"].items():
        console.print(f"Bradley–Terry from /retry {name}: {point:+.2f} [{low:+.2f}, {high:+.2f}]", markup=False)
