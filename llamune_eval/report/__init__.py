"""The quarter's HTML comparison report and its JSON twin: `make_report` collects from the store and writes
`reports/<quarter>/index.html` (self-contained) and `reports/<quarter>/report.json`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from llamune_eval.config import Config
from llamune_eval.report.collect import SCHEMA_VERSION, collect
from llamune_eval.report.render import render_html, write
from llamune_eval.store.results import Store

__all__ = ["SCHEMA_VERSION", "collect", "make_report", "render_html", "write"]


def make_report(
    cfg: Config, quarter: str, store: Store, *, html: bool = True, out: Path | None = None, ev: Any = None
) -> list[Path]:
    """Collect the quarter's data from the store and write the report folder (HTML unless `html` is False)."""
    data = collect(store, cfg, quarter, ev)
    page = render_html(data, headroom=cfg.recommend.headroom, tiers=cfg.recommend.tiers) if html else None
    return write(out or cfg.paths.reports / quarter, data, page)
