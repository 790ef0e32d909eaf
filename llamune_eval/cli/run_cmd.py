"""`llamune-eval run` and `llamune-eval results`: sweep, store, and the leaderboard."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.markup import escape
from rich.table import Table

from llamune_eval.cli._common import cell, fail, load_config, run_async
from llamune_eval.ui import console, err_console, print_json


def print_leaderboard(rows: list[Any], title: str = "Leaderboard") -> None:
    table = Table(title=title, title_justify="left")
    for col in (
        "suite",
        "model",
        "preset",
        "metric",
        "strict",
        "95% CI",
        "lenient",
        "gap",
        "n",
        "err%",
        "parse-fail%",
        "judge",
        "tok/s",
    ):
        table.add_column(col, justify="left" if col in ("suite", "model", "preset", "metric") else "right")
    for r in rows:
        ci = f"[{cell(r.ci_low)}, {cell(r.ci_high)}]" if r.ci_low is not None else "-"
        same = r.lenient is None or r.gap == 0
        fails = f"{100 * r.parse_fail_rate:.1f}" + ("" if same else f" ({100 * r.lenient_parse_fail_rate:.1f})")
        table.add_row(
            escape(r.suite),
            escape(r.model),
            escape(r.preset),
            r.metric,
            cell(r.value),
            ci,
            "=" if same else cell(r.lenient),
            "" if same else f"{r.gap:+.3f}",
            str(r.n),
            f"{100 * r.error_rate:.1f}",
            fails,
            str(r.pending_judge or "-"),
            cell(r.median_tokens_per_s, 1),
        )
    console.print(table)
    console.print(
        "strict: the published conventions (the headline); lenient: the label found anywhere in the answer; "
        "gap = strict − lenient, what following the answer format costs (README: Scoring profiles).",
        style="dim",
        highlight=False,
    )


def _announce(run_id: str, planned: int, skipped: int, path: Path) -> None:
    err_console.print(
        f"run {run_id}: {planned} samples planned, {skipped} already stored, {planned - skipped} to generate → {path}",
        markup=False,
    )


def _announce_race(run_id: str, planned: int, skipped: int, path: Path) -> None:
    err_console.print(
        f"run {run_id} (raced): {planned} samples in a full run, {skipped} already stored; the race sends what the "
        f"decision still needs → {path}",
        markup=False,
    )


def _board(cfg: Any, store: Any, quarter: str | None, keys: set[str] | None = None, **filters: Any) -> list[Any]:
    from llamune_eval.analysis import Evidence, leaderboard
    from llamune_eval.analysis.memory import Memory
    from llamune_eval.store.selection import model_facts

    ev = Evidence.load(store, quarter, keys=keys, seed=cfg.run.seed, alpha=cfg.recommend.alpha)
    return leaderboard(ev, memory=Memory.of_config(cfg, model_facts(store), ev.footprints), **filters)


def run(config: Path | None, opts: dict[str, Any]) -> None:
    """The whole quarter (or only the sweep with --sweep-only), then the leaderboard and what was written where."""
    from llamune_eval.quarters import resolve_quarter
    from llamune_eval.runner.sweep import Sweep, sweep
    from llamune_eval.ui import RichWatcher

    cfg = load_config(config)
    spec = Sweep(
        suites=opts["suite"],
        models=opts["model"],
        presets=opts["preset"],
        limit=opts["limit"],
        repeats=opts["repeats"],
        concurrency=opts["concurrency"],
        store=opts["store"],
        quarter=resolve_quarter(opts["quarter"], cfg.run.quarter),  # once: every stage is handed this one
        display=RichWatcher(opts["progress"]),
    )
    quarter = None
    if opts.get("plan"):
        from llamune_eval.cli.plan_cmd import show_plan

        show_plan(cfg, spec, opts["json"], opts.get("budget"))
        return
    try:
        announce = _announce
        if opts.get("race") or opts.get("budget"):
            spec.race, announce = _race_spec(cfg, spec, opts.get("budget")), _announce_race
        if opts["sweep_only"]:
            outcome = run_async(lambda: sweep(cfg, spec, on_plan=announce))
            with outcome.store:
                rows = _board(cfg, outcome.store, None, outcome.keys)
        else:
            from llamune_eval.quarter import run_quarter

            whole = run_async(
                lambda: run_quarter(
                    cfg, spec, spec.quarter, on_plan=announce, preview=opts["preview"], revise=opts["revise"]
                )
            )
            outcome, quarter, rows = whole.sweep, whole, whole.board
    except KeyboardInterrupt:
        fail("interrupted: every finished sample is stored; run the same command again to resume", 130)
    if opts["json"]:
        stages = [vars(s) for s in quarter.stages] if quarter else []
        print_json(
            {
                "run_id": outcome.run_id,
                "quarter": spec.quarter,
                "stages": stages,
                "leaderboard": rows,
            }
        )
    else:
        print_leaderboard(rows, title=f"Leaderboard (run {outcome.run_id})")
        if quarter:
            _closing(quarter)
    if outcome.errors:
        err_console.print(
            f"[yellow]{outcome.errors} sample(s) failed[/] (stored with their error; a re-run retries them)"
        )
    if opts["sweep_only"] and cfg.judge.models:
        err_console.print("judge stage not run (--sweep-only): `llamune-eval judge` grades the stored answers")


def _race_spec(cfg: Any, spec: Any, budget: str | None) -> Any:
    """The race: last quarter's main configurations as incumbents, and the budget as requests (a time budget at
    the plan's pace: the store's history or a two-request probe per model, as `--plan` measures it)."""
    from llamune_eval.quarter import incumbents
    from llamune_eval.runner.race import RaceSpec, parse_budget

    requests, seconds = parse_budget(budget) if budget else (None, None)
    if seconds is not None:
        from llamune_eval.cli.plan_cmd import duration
        from llamune_eval.runner.estimate import estimate

        plan = run_async(lambda: estimate(cfg, spec))
        requests = plan.within(seconds)
        err_console.print(
            f"budget {budget}: {requests} requests at the plan's pace "
            f"(the {plan.requests} left would take {duration(plan.seconds)})",
            markup=False,
        )
    return RaceSpec(budget=requests, incumbents=incumbents(cfg, spec.quarter))


def _closing(q: Any) -> None:
    table = Table(title=f"Quarter {q.quarter}", title_justify="left")
    for col in ("stage", "status", "what", "written"):
        table.add_column(col)
    for s in q.stages:
        colour = {"done": "green", "skipped": "yellow", "failed": "red", "preview": "yellow"}.get(s.status, "")
        detail, paths = escape(s.detail), escape("\n".join(s.paths))
        table.add_row(s.name, f"[{colour}]{s.status}[/]" if colour else s.status, detail, paths)
    console.print(table)
    report = next((p for p in q.stage("report").paths if p.endswith(".html")), None)
    if report:
        console.print(f"report: {Path(report).resolve().as_uri()}", markup=False)


def results(config: Path | None, opts: dict[str, Any]) -> None:
    cfg = load_config(config)
    path = Path(opts["store"] or cfg.paths.store)
    if not path.exists():
        fail(f"{path}: no results store yet (run `llamune-eval run` first)")
    from llamune_eval.store.results import Store

    with Store(path) as store:
        rows = _board(
            cfg, store, opts.get("quarter"), suites=opts["suite"], models=opts["model"], presets=opts["preset"]
        )
    if opts["json"]:
        print_json(rows)
    elif not rows:
        err_console.print("no stored samples match")
    else:
        print_leaderboard(rows)


def export(config: Path | None, fmt: str, out: Path | None, store_path: Path | None, force: bool = False) -> None:
    from llamune_eval.store.results import Store, store_files

    cfg = load_config(config)
    path = Path(store_path or cfg.paths.store)
    if not path.exists():
        fail(f"{path}: no results store yet (run `llamune-eval run` first)")
    target = out or Path(f"llamune-samples.{fmt}")
    if target.resolve() in {p.resolve() for p in store_files(path)}:
        fail(f"{target}: is the results store (or its journal); export to another file")
    if target.is_dir():
        fail(f"{target}: is a folder; --out names the file to write")
    if target.exists() and not force:
        fail(f"{target}: already exists; --force overwrites it")
    with Store(path) as store:
        store.export(target, fmt)
    err_console.print(f"wrote {target}", markup=False)


def compare(config: Path | None, a: str, b: str, store_path: Path | None, as_json: bool) -> None:
    from llamune_eval.analysis import Evidence, compare_configs
    from llamune_eval.analysis.pairs import pick, verdict
    from llamune_eval.store.results import Store

    cfg = load_config(config)
    path = Path(store_path or cfg.paths.store)
    if not path.exists():
        fail(f"{path}: no results store yet (run `llamune-eval run` first)")
    with Store(path) as store:
        ev = Evidence.load(store, seed=cfg.run.seed, alpha=cfg.recommend.alpha)
    ca, cb = pick(ev, a), pick(ev, b)
    rows = compare_configs(ev, ca, cb)
    summary = verdict(a, b, rows, ev.alpha)
    if as_json:
        print_json({"a": ca.label, "b": cb.label, "suites": rows, "verdict": summary})
        return
    table = Table(title=f"{ca.label} vs {cb.label}", title_justify="left")
    for col in ("suite", "compared", "test", "n", "A", "B", "A - B", f"{1 - ev.alpha:.0%} CI", "p", "p (Holm)"):
        table.add_column(col, justify="left" if col in ("suite", "compared", "test") else "right")
    for r in rows:
        table.add_row(
            escape(r.suite),
            r.value,
            r.test,
            str(r.n),
            cell(r.mean_a),
            cell(r.mean_b),
            cell(r.diff),
            f"[{cell(r.low)}, {cell(r.high)}]",
            cell(r.p, 4),
            cell(r.p_holm, 4),
        )
    console.print(table)
    console.print(summary, markup=False, highlight=False)
