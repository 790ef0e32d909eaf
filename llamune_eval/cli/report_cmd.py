"""`llamune-eval report`: the quarter's HTML report (and its JSON data) from the store."""

from __future__ import annotations

import sys
from pathlib import Path

from llamune_eval.cli._common import fail, load_config
from llamune_eval.ui import err_console


def report(config: Path | None, quarter: str | None, fmt: str, out: Path | None, store_path: Path | None) -> None:
    from llamune_eval.quarters import resolve_quarter
    from llamune_eval.store.results import Store

    cfg = load_config(config)
    quarter = resolve_quarter(quarter, cfg.run.quarter)
    path = Path(store_path or cfg.paths.store)
    if not path.exists():
        fail(f"{path}: no results store yet (run `llamune-eval run` first)")
    with Store(path) as store, err_console.status(f"building the {quarter} report…"):
        if out is not None and str(out) == "-":
            from llamune_eval.report import collect
            from llamune_eval.report.render import to_json

            data = collect(store, cfg, quarter)
            sys.stdout.write(to_json(data) + "\n")
            return
        from llamune_eval.report import make_report

        written = make_report(cfg, quarter, store, html=fmt == "html", out=out)
    for p in written:
        err_console.print(f"wrote {p}")
    html = next((p for p in written if p.suffix == ".html"), None)
    if html is not None:
        err_console.print(f"open {html.resolve().as_uri()}")
