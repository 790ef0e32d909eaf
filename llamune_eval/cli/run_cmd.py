"""`llamune-eval run` and `llamune-eval results`: sweep, store, and the leaderboard."""

from __future__ import annotations

import asyncio
import json
import math
import uuid
from dataclasses import asdict
from pathlib import Path
from typing import Any

from rich.table import Table

from llamune_eval.cli._common import console, err_console, fail, load_config


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


def _select_models(listed: list[Any], wanted: list[str]) -> list[Any]:
    by_name = {m.name: m for m in listed}
    if not wanted:
        return list(by_name.values())
    missing = [w for w in wanted if w not in by_name]
    if missing:
        fail(f"model(s) not served by any engine: {', '.join(missing)} (available: {', '.join(by_name) or 'none'})")
    return [by_name[w] for w in wanted]


async def _run(cfg: Any, opts: dict[str, Any]) -> tuple[Any, set[str], str, int]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from llamune_eval.benchmarks import load_all, select
    from llamune_eval.cli.models_cmd import prepare_embedded
    from llamune_eval.engines import EmbeddedBackend, open_engine
    from llamune_eval.presets import resolve
    from llamune_eval.runner import build_plan, execute
    from llamune_eval.store.results import Store

    presets = resolve(cfg.presets)
    preset_names = opts["preset"] or cfg.run.presets
    unknown = [p for p in preset_names if p not in presets]
    if unknown:
        fail(f"unknown preset(s) {', '.join(unknown)} (known: {', '.join(presets)})")
    suites = [s.limited(opts["limit"] or cfg.run.limit) for s in load_all(select(cfg, opts["suite"]))]
    if not suites:
        fail("no suites to run: add suites/ or [suites.NAME] entries to llamune.toml (see `llamune-eval suites`)")
    store = Store(opts["store"] or cfg.paths.store)
    async with open_engine(cfg) as engine:
        for backend in engine.backends:
            if isinstance(backend, EmbeddedBackend):
                for problem in prepare_embedded(backend):
                    err_console.print(f"[yellow]warning:[/] {problem}")
        models = _select_models(await engine.list_models(), opts["model"] or cfg.run.models)
        if not models:
            fail("no models: no engine lists any model (see `llamune-eval models`)")
        plan = build_plan(suites, models, [presets[p] for p in preset_names], opts["repeats"] or cfg.run.repeats,
                          cfg.run.seed)  # fmt: skip
        finished = store.finished_keys()
        todo = [u for u in plan if u.key not in finished]
        run_id = uuid.uuid4().hex[:12]
        store.begin_run(run_id, cfg.model_dump(mode="json"),
                        [{"name": s.name, "version": s.version, "template": s.template_version, "digest": s.digest(),
                          "source": s.source, "items": len(s.items)} for s in suites],
                        {"models": [m.name for m in models], "presets": preset_names, "repeats": opts["repeats"]},
                        len(plan), len(plan) - len(todo))  # fmt: skip
        err_console.print(f"run {run_id}: {len(plan)} samples planned, {len(plan) - len(todo)} already stored, "
                          f"{len(todo)} to generate → {store.path}")  # fmt: skip
        writer = store.writer()
        status = "interrupted"
        progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            TextColumn("{task.fields[tps]}"),
            console=err_console,
            disable=not opts["progress"],
        )
        tasks: dict[tuple[str, str], Any] = {}
        tokens: dict[tuple[str, str], int] = {}
        for u in todo:
            k = (u.model, u.preset)
            if k not in tasks:
                tasks[k] = progress.add_task(f"{u.model} · {u.preset}", total=0, tps="", start=False)
            progress.update(tasks[k], total=progress.tasks[tasks[k]].total + 1)

        def advance(unit: Any, record: Any) -> None:
            k = (unit.model, unit.preset)
            task = progress.tasks[tasks[k]]
            if not task.started:
                progress.start_task(tasks[k])
            tokens[k] = tokens.get(k, 0) + (record.row.get("completion_tokens") or 0)
            elapsed = task.elapsed or 0
            progress.update(tasks[k], advance=1, tps=f"{tokens[k] / elapsed:.1f} tok/s" if elapsed > 0 else "")

        try:
            with progress:
                width = opts["concurrency"] or cfg.run.concurrency
                stats = await execute(todo, engine, writer, run_id, concurrency=width, advance=advance)
            status = "finished"
        finally:
            try:
                writer.close()
            finally:
                store.end_run(run_id, status)
        return store, {u.key for u in plan}, run_id, stats.errors


def run(config: Path | None, opts: dict[str, Any]) -> None:
    from llamune_eval.runner import leaderboard

    cfg = load_config(config)
    try:
        store, keys, run_id, errors = asyncio.run(_run(cfg, opts))
    except KeyboardInterrupt:
        fail("interrupted: every finished sample is stored; run the same command again to resume", 130)
    with store:
        rows = leaderboard(store, keys=keys)
        if opts["json"]:
            console.print_json(json.dumps([asdict(r) for r in rows], default=str))
        else:
            print_leaderboard(rows, title=f"Leaderboard (run {run_id})")
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
