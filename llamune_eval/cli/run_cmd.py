"""`llamune-eval run` and `llamune-eval results`: sweep, store, and the leaderboard."""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from pathlib import Path
from typing import Any

from rich.table import Table

from llamune_eval.cli._common import fail, load_config, run_async
from llamune_eval.ui import console, err_console


def _fmt(value: float | None, digits: int = 3) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def print_leaderboard(rows: list[Any], title: str = "Leaderboard") -> None:
    table = Table(title=title, title_justify="left")
    for col in ("suite", "model", "preset", "metric", "mean", "95% CI", "n", "err%", "parse-fail%", "judge", "tok/s"):
        table.add_column(col, justify="left" if col in ("suite", "model", "preset", "metric") else "right")
    for r in rows:
        ci = f"[{_fmt(r.ci_low)}, {_fmt(r.ci_high)}]" if not math.isnan(r.ci_low) else "-"
        table.add_row(
            r.suite, r.model, r.preset, r.metric, _fmt(r.value), ci, str(r.n), f"{100 * r.error_rate:.1f}",
            f"{100 * r.parse_fail_rate:.1f}", str(r.pending_judge or "-"), _fmt(r.median_tokens_per_s, 1),
        )  # fmt: skip
    console.print(table)


def _announce(run_id: str, planned: int, skipped: int, path: Path) -> None:
    err_console.print(f"run {run_id}: {planned} samples planned, {skipped} already stored, {planned - skipped} to "
                      f"generate → {path}")  # fmt: skip


def run(config: Path | None, opts: dict[str, Any]) -> None:
    from llamune_eval.runner import leaderboard
    from llamune_eval.runner.sweep import Sweep, sweep

    cfg = load_config(config)
    spec = Sweep(suites=opts["suite"], models=opts["model"], presets=opts["preset"], limit=opts["limit"],
                 repeats=opts["repeats"], concurrency=opts["concurrency"], store=opts["store"],
                 progress=opts["progress"])  # fmt: skip
    try:
        outcome = run_async(lambda: sweep(cfg, spec, on_plan=_announce))
    except KeyboardInterrupt:
        fail("interrupted: every finished sample is stored; run the same command again to resume", 130)
    with outcome.store as store:
        rows = leaderboard(store, keys=outcome.keys)
        if opts["json"]:
            console.print_json(json.dumps([asdict(r) for r in rows], default=str))
        else:
            print_leaderboard(rows, title=f"Leaderboard (run {outcome.run_id})")
    if cfg.judge.models:  # the judge stage belongs to the run when a judge is configured
        from llamune_eval.runner.judging import JudgeSpec, judge

        spec_j = JudgeSpec(store=opts["store"] or cfg.paths.store, progress=opts["progress"])
        judged = run_async(lambda: judge(cfg, spec_j))
        err_console.print(f"judged {judged.done} answer(s) with {', '.join(cfg.judge.models)} "
                          f"({judged.skipped} already judged, {judged.parse_failures} unparsable); "
                          "see `llamune-eval judge` for scores and reliability")  # fmt: skip
    errors = outcome.errors
    if errors:
        err_console.print(f"[yellow]{errors} sample(s) failed[/] (stored with their error; a re-run retries them)")


def results(config: Path | None, opts: dict[str, Any]) -> None:
    from llamune_eval.runner import leaderboard
    from llamune_eval.store.results import Store

    cfg = load_config(config)
    path = Path(opts["store"] or cfg.paths.store)
    if not path.exists():
        fail(f"{path}: no results store yet (run `llamune-eval run` first)")
    with Store(path) as store:
        rows = leaderboard(store, suites=opts["suite"], models=opts["model"], presets=opts["preset"])
        if opts["json"]:
            console.print_json(json.dumps([asdict(r) for r in rows], default=str))
        elif not rows:
            err_console.print("no stored samples match")
        else:
            print_leaderboard(rows)


def export(config: Path | None, fmt: str, out: Path | None, store_path: Path | None) -> None:
    from llamune_eval.store.results import Store

    cfg = load_config(config)
    path = Path(store_path or cfg.paths.store)
    if not path.exists():
        fail(f"{path}: no results store yet (run `llamune-eval run` first)")
    target = out or Path(f"llamune-samples.{fmt}")
    with Store(path) as store:
        store.export(target, fmt)
    err_console.print(f"wrote {target}")


def compare(config: Path | None, a: str, b: str, store_path: Path | None, as_json: bool) -> None:
    from llamune_eval.runner.compare import as_dicts, verdict
    from llamune_eval.runner.compare import compare as run_compare
    from llamune_eval.store.results import Store

    cfg = load_config(config)
    path = Path(store_path or cfg.paths.store)
    if not path.exists():
        fail(f"{path}: no results store yet (run `llamune-eval run` first)")
    with Store(path) as store:
        sel_a, sel_b, rows = run_compare(store, a, b, seed=cfg.run.seed)
    summary = verdict(sel_a, sel_b, rows)
    if as_json:
        console.print_json(json.dumps({"a": sel_a.label(), "b": sel_b.label(), "suites": as_dicts(rows),
                                       "verdict": summary}, default=str))  # fmt: skip
        return
    table = Table(title=f"{sel_a.label()} vs {sel_b.label()}", title_justify="left")
    for col in ("suite", "compared", "test", "n", "A", "B", "A - B", "95% CI", "p", "p (Holm)"):
        table.add_column(col, justify="left" if col in ("suite", "compared", "test") else "right")
    for r in rows:
        table.add_row(r.suite, r.value, r.test, str(r.n), _fmt(r.mean_a), _fmt(r.mean_b), _fmt(r.diff),
                      f"[{_fmt(r.low)}, {_fmt(r.high)}]", _fmt(r.p, 4), _fmt(r.p_holm, 4))  # fmt: skip
    console.print(table)
    console.print(summary)
