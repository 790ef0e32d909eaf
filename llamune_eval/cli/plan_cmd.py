"""`llamune-eval run --plan`: the plan and its ETA as a table or JSON (runner/estimate.py makes it)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from rich.markup import escape
from rich.table import Table

from llamune_eval.cli._common import cell, run_async
from llamune_eval.ui import console, print_json


def duration(seconds: float | None) -> str:
    """1 h 05 min, 12 min, 40 s; "?" when a model's speed is unknown."""
    if seconds is None:
        return "?"
    if seconds >= 3600:
        return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60):02d} min"
    return f"{int(seconds // 60)} min" if seconds >= 60 else f"{seconds:.0f} s"


def show_plan(cfg: Any, spec: Any, as_json: bool, budget: str | None = None) -> None:
    from llamune_eval.runner.estimate import estimate
    from llamune_eval.runner.race import parse_budget

    requests, seconds = parse_budget(budget) if budget else (None, None)
    plan = run_async(lambda: estimate(cfg, spec))
    if seconds is not None:
        requests = plan.within(seconds)
    full = plan.requests + sum(r.stored for r in plan.rows)
    fits = (
        None
        if requests is None
        else {"budget": budget, "requests": min(requests, full), "share": _share(requests, full)}
    )
    if as_json:
        print_json(
            {
                "rows": [asdict(r) for r in plan.rows],
                "widths": plan.widths,
                "requests": plan.requests,
                "judge_requests": plan.judge_requests,
                "engines": plan.engines,
                "seconds": plan.seconds,
                "budget": fits,
            }
        )
        return
    table = Table(title="Plan", title_justify="left")
    for col in ("engine", "model", "preset", "suite", "samples", "stored", "requests", "s/request", "from", "time"):
        table.add_column(
            col, justify="right" if col in ("samples", "stored", "requests", "s/request", "time") else "left"
        )
    for r in plan.rows:
        table.add_row(
            escape(r.engine),
            escape(r.model),
            escape(r.preset),
            escape(r.suite),
            str(r.planned),
            str(r.stored),
            str(r.requests),
            cell(r.latency_s, 2),
            r.source,
            duration(r.seconds),
        )
    console.print(table)
    for endpoint, seconds in plan.engines.items():
        console.print(f"{endpoint}: {duration(seconds)}", markup=False, highlight=False)
    judge = f"; judge: {plan.judge_requests} verdicts at most" if plan.judge_requests else ""
    console.print(
        f"{plan.requests} requests to send{judge}; the sweep takes about {duration(plan.seconds)} "
        f"(engines side by side, each model at its width: {', '.join(f'{m} {w}' for m, w in plan.widths.items())})",
        markup=False,
        highlight=False,
    )
    if fits is not None:
        console.print(
            f"budget {budget}: {fits['requests']} of the plan's {full} requests ({fits['share']:.0%}); the race sends "
            "at most that, and stops configurations the decision no longer needs sooner",
            markup=False,
            highlight=False,
        )


def _share(requests: int, full: int) -> float:
    return 1.0 if full <= 0 else min(1.0, requests / full)
