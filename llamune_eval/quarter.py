"""The whole quarter in one command: sweep → judge (when configured) → usage ingest (the configured chat databases
and usage drops, else this machine's own) → measure (each configuration's memory and speed under the same
conditions) → recommend (the decision, then the contention check that sets `concurrentLimit`) → publish (to
`[publish] to`, the users' channel) → report, on one engine and one progress display.

Every stage is idempotent (stored samples and judgements are skipped, usage events are keyed, the settings and
the report are recomputed from the store), so running the same command again after a kill resumes the quarter.
A stage that cannot decide is reported and skipped; too little evidence to publish makes a preview; the report is
always written.
"""

from __future__ import annotations

import contextlib
import glob
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from llamune_eval.config import Config
from llamune_eval.quarters import resolve_quarter
from llamune_eval.runner.progress import SILENT
from llamune_eval.runner.sweep import Outcome, Sweep, sweep
from llamune_eval.store.results import Store
from llamune_eval.types import InputError

if TYPE_CHECKING:
    from llamune_eval.analysis import Evidence, LeaderboardRow
    from llamune_eval.engines import Engine
    from llamune_eval.runner.progress import Watcher
    from llamune_eval.runner.sweep import OnPlan
    from llamune_eval.types import ModelInfo

STAGES = ("sweep", "judge", "usage", "measure", "recommend", "publish", "report")


@dataclass
class Stage:
    name: str
    status: str = "pending"  # done, skipped, failed, or preview (the recommend stage wrote a preview only)
    detail: str = ""
    paths: list[str] = field(default_factory=list)


@dataclass
class QuarterOutcome:
    quarter: str
    sweep: Outcome
    stages: list[Stage]
    board: list[LeaderboardRow] = field(default_factory=list)  # the leaderboard of this run's samples

    def stage(self, name: str) -> Stage:
        return next(s for s in self.stages if s.name == name)


def usage_sources(cfg: Config) -> tuple[list[Path], list[str]]:
    """The configured chat databases and usage drops, glob patterns expanded (relative to the working directory),
    and the patterns that matched nothing (a drop folder no user has written to yet); with none configured, this
    machine's own chat database when `llamune` has written one."""
    if not cfg.usage.databases:
        from llamune_eval.settings import default_chat_db

        own = default_chat_db()
        return ([own] if own.is_file() else []), []
    found: list[Path] = []
    unmatched: list[str] = []
    for pattern in cfg.usage.databases:
        matches = sorted(glob.glob(str(Path(pattern).expanduser())))
        if not matches:
            unmatched.append(pattern)
        found += [Path(m) for m in matches if Path(m) not in found]
    return found, unmatched


def incumbents(cfg: Config, quarter: str) -> dict[int, tuple[str, str]]:
    """Last quarter's main configuration per memory tier (GB -> (model, preset)): what a race protects."""
    from llamune_eval.recommend.quarterly import in_force
    from llamune_eval.recommend.update import old_main

    old = in_force(cfg.paths.recommended, quarter)
    out = {}
    for gb in cfg.recommend.tiers:
        main = old_main(old, gb) if old else None
        if main is not None and main[1]:
            out[gb] = (main[0], main[1])
    return out


async def run_quarter(
    cfg: Config,
    spec: Sweep,
    quarter: str | None = None,
    *,
    on_plan: OnPlan | None = None,
    preview: bool = False,
    revise: bool = False,
) -> QuarterOutcome:
    from llamune_eval.engines import open_engine

    quarter = resolve_quarter(quarter, cfg.run.quarter)  # once: every stage is handed this one
    stages = [Stage(name) for name in STAGES]
    watcher = spec.display or SILENT
    overall = watcher.bar(f"quarter {quarter}", len(STAGES))

    def begin(name: str) -> Stage:
        overall.relabel(f"quarter {quarter} · {name}")
        if name != "sweep":  # logs (cron, CI) still say where a long quarter is (the sweep says so itself once its
            # plan stands: a bad selection stays a one-line error)
            watcher.say(f"quarter {quarter} · {name}")
        return stages[STAGES.index(name)]

    def end(stage: Stage, status: str, detail: str = "", paths: list[str] | None = None) -> None:
        stage.status, stage.detail, stage.paths = status, detail, paths or []
        overall.advance()

    store_path = Path(spec.store or cfg.paths.store)
    with contextlib.ExitStack() as shown:

        def planned(run_id: str, planned: int, stored: int, path: Path) -> None:
            """The display starts once the plan stands: a bad selection stays a one-line error."""
            if on_plan is not None:
                on_plan(run_id, planned, stored, path)
            shown.enter_context(watcher.live())

        async with open_engine(cfg) as engine:
            stage = begin("sweep")
            spec.display, spec.store, spec.quarter = watcher, store_path, quarter
            outcome = await sweep(cfg, spec, on_plan=planned, engine=engine)
            store = shown.enter_context(outcome.store)  # opened once, by the sweep: every stage after it shares it
            end(stage, "done", _sweep_detail(outcome), [str(store_path)])
            stage = begin("judge")
            if cfg.judge.models:
                from llamune_eval.runner.judging import JudgeSpec, judge

                judged = await judge(cfg, JudgeSpec(store=store_path, display=watcher), engine, store)
                end(
                    stage,
                    "done",
                    f"{judged.done} judged with {', '.join(cfg.judge.models)}, {judged.skipped} "
                    f"already judged, {judged.parse_failures} unparsable",
                )
            else:
                end(stage, "skipped", "no judge configured ([judge] models)")
            listed = await engine.list_models()
            _usage_stage(cfg, store, begin, end)
            ev = await _measure_stage(cfg, quarter, store, engine, begin("measure"), end, watcher)
            status = await _recommend_stage(cfg, quarter, store, engine, listed, ev, begin, end, preview, revise)
        board = await _last_stages(cfg, quarter, store, outcome.keys, ev, status, begin, end)
    return QuarterOutcome(quarter, outcome, stages, board)


def _sweep_detail(outcome: Outcome) -> str:
    raced = outcome.race
    if raced is None:
        new = outcome.planned - outcome.skipped
        return f"{outcome.planned} samples planned, {new} generated, {outcome.errors} failed"
    stopped = sum(1 for s in raced.stops if s.reason not in ("complete", "budget"))
    return (
        f"raced: {raced.spent} of a full run's {raced.full} requests ({raced.spent / max(1, raced.full):.0%}), "
        f"{stopped} of {len(raced.stops)} configurations settled before the end; {outcome.stats.done} generated, "
        f"{outcome.errors} failed"
    )


def _usage_stage(cfg: Config, store: Store, begin: Callable[[str], Stage], end: Callable[..., None]) -> None:
    stage = begin("usage")
    try:
        sources, unmatched = usage_sources(cfg)
        nothing = "".join(f"; {p!r} matches no file" for p in unmatched)
        if sources:
            from llamune_eval.usage import ingest

            results = ingest(store, sources)
            end(
                stage,
                "done",
                f"{sum(r.added for r in results)} new events from {len(results)} file(s){nothing}",
                [r.source for r in results],
            )
        else:
            why = "no chat database or usage drop ([usage] databases, or this machine's own llamune database)"
            end(stage, "skipped", why + nothing)
    except InputError as exc:
        end(stage, "failed", str(exc))


async def _measure_stage(
    cfg: Config, quarter: str, store: Store, engine: Engine, stage: Stage, end: Callable[..., None], watcher: Watcher
) -> Evidence:
    """Each configuration's memory and speed under the same conditions; returns the evidence, read once for the
    decision and the report."""
    from llamune_eval.analysis import Evidence
    from llamune_eval.types import EngineError

    if not cfg.measure.enabled:
        end(stage, "skipped", "[measure] enabled = false: speed from the sweep, memory estimated")
    else:
        from llamune_eval.runner.measure import measure_quarter

        ev = Evidence.for_quarter(store, cfg, quarter)
        bar = watcher.bar("measure", cfg.measure.probes * len(ev.configs))
        try:
            done = await measure_quarter(cfg, store, quarter, engine, ev, lambda n: bar.advance())
            end(stage, "done", done.describe())
        except EngineError as exc:
            end(stage, "failed", f"{exc}; the figures stored so far are kept")
    return Evidence.for_quarter(store, cfg, quarter, texts=True)


async def _recommend_stage(
    cfg: Config,
    quarter: str,
    store: Store,
    engine: Engine,
    listed: list[ModelInfo],
    ev: Evidence,
    begin: Callable[[str], Stage],
    end: Callable[..., None],
    preview: bool,
    revise: bool,
) -> str:
    """The decision, the contention check of the sets it chose (on the quarter's engines), then the file."""
    stage = begin("recommend")
    status = "skipped"
    try:
        from llamune_eval.recommend import build, decide_and_publish

        checked = ""
        if cfg.measure.enabled:
            from llamune_eval.runner.contention import check_decision
            from llamune_eval.settings import Tier
            from llamune_eval.types import EngineError

            draft = build(store, cfg, quarter, listed, cfg.paths.recommended, ev=ev, preview=True)
            try:
                tiers = [Tier.model_validate(t) for t in draft["tiers"]]
                sets, _ = await check_decision(cfg, store, quarter, engine, tiers, ev)
                checked = f"; contention checked for {sets} set(s) of models" if sets else ""
            except (EngineError, TimeoutError) as exc:
                checked = f"; the contention check failed ({exc}): concurrentLimit 1"
        data, path, status = decide_and_publish(
            cfg, store, quarter, listed, cfg.paths.recommended, ev=ev, preview=True if preview else None, revise=revise
        )
        mains = ", ".join(f"{t['memoryGB']} GB: {t['executionOrder'][0]}" for t in data["tiers"])
        if status == "preview":
            thin = data["evidence"]["thinSuites"]
            why = (
                "too little evidence to publish ("
                + ", ".join(f"{t['suite']} {t['n']} items" for t in thin)
                + f"; minimum {cfg.recommend.min_items})"
                if thin
                else "asked for with --preview"
            )
            end(stage, "preview", f"{mains}; a preview llamune never applies: {why}{checked}", [str(path)])
        else:
            end(stage, "done", f"{mains} ({status}){checked}", [str(path)])
    except InputError as exc:
        end(stage, "skipped", str(exc))
    return status


async def _last_stages(
    cfg: Config,
    quarter: str,
    store: Store,
    keys: set[str],
    ev: Evidence,
    status: str,
    begin: Callable[[str], Stage],
    end: Callable[..., None],
) -> list[LeaderboardRow]:
    """publish → report, after the engine has closed; returns the run's leaderboard."""
    from llamune_eval.analysis import Evidence, leaderboard

    await _publish_stage(cfg, quarter, status, begin("publish"), end)
    stage = begin("report")
    from llamune_eval.report import make_report

    written = make_report(cfg, quarter, store, ev=ev)
    end(stage, "done", "self-contained HTML and its data", [str(p) for p in written])
    # the run's own leaderboard: the quarter's evidence when the run planned exactly its samples (the usual case),
    # else this run's samples read once more
    if {r.key for r in ev.rows} == keys:
        return leaderboard(ev)
    mine = Evidence.load(store, None, keys=keys, seed=cfg.run.seed, alpha=cfg.recommend.alpha)
    return leaderboard(mine)


async def _publish_stage(cfg: Config, quarter: str, decided: str, stage: Stage, end: Callable[..., None]) -> None:
    """The quarter's published files into `[publish] to`, the users' channel (a preview never goes there)."""
    from llamune_eval.settings import published_for

    if not cfg.publish.to:
        end(stage, "skipped", "no channel ([publish] to)")
        return
    if not published_for(cfg.paths.recommended, quarter):
        why = "a preview is never published" if decided == "preview" else f"{quarter} is not published"
        end(stage, "skipped", f"{why}; the channel keeps what it holds")
        return
    from llamune_eval.channel.publish import publish_channel

    try:
        done = await publish_channel(
            cfg.paths.recommended,
            cfg.publish.to,
            quarter=quarter,
            signing_key=cfg.recommend.signing_key,
            authorization_env=cfg.publish.authorization_env,
        )
    except InputError as exc:
        end(stage, "failed", str(exc))
        return
    end(stage, "done", done.describe(), [cfg.publish.to])
