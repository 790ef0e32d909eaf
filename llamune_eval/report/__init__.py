"""The quarter's HTML comparison report and its JSON twin: `make_report` collects from the store and writes
`reports/<quarter>/index.html` (self-contained) and `reports/<quarter>/report.json`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from llamune_eval.config import Config
from llamune_eval.report.collect import SCHEMA_VERSION, collect
from llamune_eval.report.render import render_html, write, write_schema
from llamune_eval.store.results import Store

if TYPE_CHECKING:
    from llamune_eval.analysis import Evidence

__all__ = ["SCHEMA_VERSION", "collect", "make_report", "render_html", "write", "write_schema"]


def make_report(
    cfg: Config, quarter: str, store: Store, *, html: bool = True, out: Path | None = None, ev: Evidence | None = None
) -> list[Path]:
    """Collect the quarter's data from the store and write the report folder (HTML unless `html` is False)."""
    data = collect(store, cfg, quarter, ev)
    page = render_html(data, headroom=cfg.recommend.headroom, tiers=cfg.recommend.tiers) if html else None
    if out is None:  # the reports folder carries the schema of its report.json files, as recommended/ does
        write_schema(cfg.paths.reports)
    return write(out or cfg.paths.reports / quarter, data, page)
