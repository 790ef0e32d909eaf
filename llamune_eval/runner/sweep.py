"""One sweep end to end: select suites, models and presets, plan, skip what is stored, run with progress bars,
and record the run. The CLI's `run` is a thin shell around `sweep`."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from llamune_eval.config import Config
from llamune_eval.engines import EmbeddedBackend, Engine, open_engine
from llamune_eval.presets import Preset, catalogue
from llamune_eval.quarters import resolve_quarter
from llamune_eval.records import SuiteFacts
from llamune_eval.runner.execute import RunStats, execute
from llamune_eval.runner.plan import Unit, build_plan
from llamune_eval.runner.progress import SILENT, Speed, Watcher
from llamune_eval.runner.rescore import rescore
from llamune_eval.store.races import clear_race
from llamune_eval.store.results import SampleRecord, Store
from llamune_eval.types import InputError, ModelInfo

if TYPE_CHECKING:
    from llamune_eval.benchmarks import Suite
    from llamune_eval.runner.race import RaceOutcome, RaceSpec


@dataclass
class Sweep:
    """What to run; empty lists and zeros fall back to `[run]` in the config."""

    suites: list[str] = field(default_factory=list)
    models: list[str] = field(default_factory=list)
    presets: list[str] = field(default_factory=list)
    limit: int = 0
    repeats: int = 0
    concurrency: int | None = None
    store: Path | None = None
    display: Watcher | None = None  # the front end's bars (ui.RichWatcher); None draws nothing
    quarter: str | None = None  # the quarter the run is for (recorded with the run; default: the next one)
    race: RaceSpec | None = None  # race the configurations (design/racing.md); None answers every item


@dataclass
class Outcome:
    store: Store
    run_id: str
    keys: set[str]
    planned: int
    skipped: int
    stats: RunStats
    models: list[ModelInfo] = field(default_factory=list)
    race: RaceOutcome | None = None

    @property
    def errors(self) -> int:
        return self.stats.errors


def _select_models(listed: list[ModelInfo], wanted: list[str]) -> list[ModelInfo]:
    by_name = {m.name: m for m in listed}
    if not wanted:
        return list(by_name.values())
    missing = [w for w in wanted if w not in by_name]
    if missing:
        known = ", ".join(by_name) or "none"
        raise InputError(f"model(s) not served by any engine: {', '.join(missing)} (available: {known})")
    return [by_name[w] for w in wanted]


class _Bars:
    """One bar per model x preset, with ETA and the generation speed so far, on the front end's watcher (the
    quarter's pipeline keeps one display for every stage)."""

    def __init__(self, todo: list[Unit], watcher: Watcher) -> None:
        self.speed = Speed()
        totals: dict[tuple[str, str], int] = {}
        for u in todo:
            totals[(u.model, u.preset)] = totals.get((u.model, u.preset), 0) + 1
        self.bars = {key: watcher.bar(f"{key[0]} · {key[1]}", total) for key, total in totals.items()}

    def advance(self, unit: Unit, record: SampleRecord) -> None:
        key = (unit.model, unit.preset)
        self.bars[key].advance(self.speed.note(key, record.sample.completion_tokens or 0))


def selection(cfg: Config, spec: Sweep) -> tuple[dict[str, Preset], list[str], list[Suite], list[Suite]]:
    """The presets (all known, and the names asked for), the suites as loaded and as limited: a bad selection is
    one line before anything is opened or sent. `run --plan` makes the same selection."""
    from llamune_eval.benchmarks import load_all, select

    presets = catalogue(cfg.presets)
    names = spec.presets or cfg.run.presets
    unknown = [p for p in names if p not in presets]
    if unknown:
        raise InputError(f"unknown preset(s) {', '.join(unknown)} (known: {', '.join(presets)})")
    full = load_all(select(cfg, spec.suites))
    suites = [s.limited(spec.limit or cfg.run.limit) for s in full]
    if not suites:
        raise InputError("no suites to run: add suites/ or [suites.NAME] entries to llamune.toml")
    return presets, names, full, suites


async def planned_units(
    cfg: Config, spec: Sweep, engine: Engine, suites: list[Suite], presets: dict[str, Preset], names: list[str]
) -> tuple[list[ModelInfo], list[Unit]]:
    """The models the engines serve (as asked for) and every unit of the plan."""
    models = _select_models(await engine.list_models(), spec.models or cfg.run.models)
    if not models:
        raise InputError("no models: no engine lists any model (see `llamune-eval models`)")
    budgets = {name: opts.thinking_budget for name, opts in cfg.models.items()}
    repeats = spec.repeats or cfg.run.repeats
    return models, build_plan(suites, models, [presets[p] for p in names], repeats, cfg.run.seed, budgets)


OnPlan = Callable[[str, int, int, Path], None]  # run id, units planned, units already stored, the store's path


async def sweep(cfg: Config, spec: Sweep, *, on_plan: OnPlan | None = None, engine: Engine | None = None) -> Outcome:
    """Run the sweep; a re-run of the same plan generates only what is missing. Cancellation marks the run
    'interrupted' after every finished sample has been committed. The store is opened once the selection
    stands (a bad selection writes nothing) and handed back open in the outcome: the caller's later stages
    share it and the caller closes it."""
    watcher = spec.display or SILENT
    presets, names, full, suites = selection(cfg, spec)
    quarter = resolve_quarter(spec.quarter, cfg.run.quarter)  # once: the run records and races this quarter
    store = Store(spec.store or cfg.paths.store)
    try:
        return await _run(cfg, spec, quarter, store, suites, full, presets, names, engine, on_plan, watcher)
    except BaseException:
        store.close()
        raise


async def _run(
    cfg: Config,
    spec: Sweep,
    quarter: str,
    store: Store,
    suites: list[Suite],
    full: list[Suite],
    presets: dict[str, Preset],
    names: list[str],
    engine: Engine | None,
    on_plan: OnPlan | None,
    watcher: Watcher,
) -> Outcome:
    rescore(store, full)
    async with contextlib.AsyncExitStack() as stack:
        if engine is None:
            engine = await stack.enter_async_context(open_engine(cfg))
        for backend in engine.backends:
            if isinstance(backend, EmbeddedBackend):
                backend.ready_models(watcher.joining)
        models, plan = await planned_units(cfg, spec, engine, suites, presets, names)
        repeats = spec.repeats or cfg.run.repeats
        finished = store.finished_keys()
        todo = [u for u in plan if u.key not in finished]
        run_id = uuid.uuid4().hex[:12]
        suite_facts = [
            SuiteFacts(
                name=s.name,
                version=s.version,
                template=s.template_version,
                digest=s.digest(),
                source=s.source,
                items=len(s.items),
                data=s.data,
            ).model_dump(mode="json")
            for s in suites
        ]
        store.begin_run(
            run_id,
            cfg.model_dump(mode="json"),
            suite_facts,
            {
                "models": [m.name for m in models],
                "presets": names,
                "repeats": repeats,
                "model_facts": {m.name: m.model_dump(mode="json") for m in models},
            },
            len(plan),
            len(plan) - len(todo),
            quarter,
        )
        if on_plan is not None:
            on_plan(run_id, len(plan), len(plan) - len(todo), store.path)
        writer = store.writer()
        status = "interrupted"
        raced: RaceOutcome | None = None
        width = spec.concurrency or cfg.run.concurrency
        try:
            with watcher.live():
                if spec.race is not None:
                    from llamune_eval.runner.race import race  # the analysis (numpy): only when racing

                    raced = await race(
                        cfg,
                        spec.race,
                        plan,
                        models,
                        engine,
                        store,
                        writer,
                        run_id,
                        quarter,
                        concurrency=width,
                        watcher=watcher,
                    )
                    stats = raced.stats
                else:
                    clear_race(store, quarter)
                    bars = _Bars(todo, watcher)
                    stats = await execute(todo, engine, writer, run_id, concurrency=width, advance=bars.advance)
            status = "finished"
        finally:
            try:
                writer.close()
            finally:
                store.end_run(run_id, status)
    done = len(plan) - len(todo)
    return Outcome(store, run_id, {u.key for u in plan}, len(plan), done, stats, models, raced)
