"""A raced sweep (design/racing.md): the plan's items in the race's seeded order, batch by batch, to the
configurations the decisions still need. Answers already stored are read back, not asked again, so a killed race
resumes where it stopped and, the order and the looks being the same, stops the same configurations."""

from __future__ import annotations

import math
import re
import statistics
from dataclasses import dataclass, field

import orjson

from llamune_eval.analysis.evidence import observe
from llamune_eval.analysis.memory import Memory, context_of, fits
from llamune_eval.analysis.racing import Group, Race, RaceRule, Stop, item_order
from llamune_eval.config import Config
from llamune_eval.engines import Engine
from llamune_eval.runner.execute import RunStats, execute
from llamune_eval.runner.plan import Unit
from llamune_eval.runner.progress import SILENT, Speed, Watcher
from llamune_eval.store.races import RaceRow, StoredSample, save_race, stored_samples
from llamune_eval.store.results import SampleRecord, Store, Writer
from llamune_eval.types import InputError, ModelInfo


@dataclass
class RaceSpec:
    """Race the sweep: `budget` caps the requests (None: the race alone decides); `incumbents` are last quarter's
    main configurations by memory tier (GB -> (model, preset)), which a race protects and measures others against."""

    budget: int | None = None
    incumbents: dict[int, tuple[str, str]] = field(default_factory=dict)
    rule: RaceRule | None = None  # None: the decision rule's own alpha, margin and minimum evidence ([recommend])


@dataclass
class RaceOutcome:
    stats: RunStats
    stops: list[Stop]
    spent: int  # requests the race sent or read back
    full: int  # requests the full plan holds


def label(model: str, preset: str) -> str:
    return f"{model}:{preset}"


_SPAN = re.compile(r"(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?")


def parse_budget(text: str) -> tuple[int | None, float | None]:
    """`--budget`: a request count ("20000") or a time ("6h", "90m", "1h30m", "45s"): (requests, seconds)."""
    t = text.strip().lower()
    if t.isdigit() and int(t) > 0:
        return int(t), None
    found = _SPAN.fullmatch(t)
    if t and found and any(found.groups()):
        h, m, sec = (float(g or 0) for g in found.groups())
        seconds = h * 3600 + m * 60 + sec
        if seconds > 0:
            return None, seconds
    raise InputError(f"--budget {text!r}: give a request count (20000) or a time (6h, 90m, 1h30m)")


def _needs(cfg: Config, models: list[ModelInfo], plan: list[Unit]) -> dict[str, int | None]:
    """config -> memory need at the preset's context, estimated (the race runs before the measure stage)."""
    memory = Memory.of_config(cfg, {m.name: m for m in models})
    out: dict[str, int | None] = {}
    for u in plan:
        key = label(u.model, u.preset)
        if key not in out:
            fp = memory.of(u.model, context_of(u.params))
            out[key] = fp.bytes if fp else None
    return out


def groups(cfg: Config, spec: RaceSpec, configs: list[str], needs: dict[str, int | None]) -> list[Group]:
    """One decision per memory tier: the configurations that fit it (`analysis.memory.fits`, the decision's own
    rule: an unknown size fits no tier) and its incumbent; tiers with the same candidates and incumbent are one
    decision."""
    out: list[Group] = []
    for gb in sorted(cfg.recommend.tiers) or [0]:
        members = frozenset(c for c in configs if not gb or fits(needs.get(c), gb, cfg.recommend.headroom))
        held = spec.incumbents.get(gb)
        incumbent = label(*held) if held and label(*held) in members else None
        group = Group(members, incumbent)
        if members and group not in out:
            out.append(group)
    return out or [Group(frozenset(configs))]


class _Speeds:
    """The median latency so far per model: a model settles another's configuration worse only when it is also
    no slower and no larger (the decision's score weighs those too)."""

    def __init__(self, needs: dict[str, int | None], models: dict[str, str]) -> None:
        self.needs, self.models = needs, models
        self.latency: dict[str, list[float]] = {}
        self._median: dict[str, float] = {}  # computed once per look, not once per pair

    def note(self, model: str, seconds: float | None) -> None:
        if seconds:
            self.latency.setdefault(model, []).append(seconds)
            self._median.pop(model, None)

    def median(self, model: str) -> float | None:
        if model not in self._median and self.latency.get(model):
            self._median[model] = statistics.median(self.latency[model])
        return self._median.get(model)

    def may_settle(self, winner: str, loser: str) -> bool:
        mw, ml = self.models[winner], self.models[loser]
        if mw == ml:
            return True
        nw, nl = self.needs.get(winner), self.needs.get(loser)
        lw, ll = self.median(mw), self.median(ml)
        if nw is None or nl is None or lw is None or ll is None:
            return False
        return nw <= nl and lw <= ll


def rule_of(cfg: Config) -> RaceRule:
    """The race held to the decision rule it serves: its level, its margin and its minimum evidence."""
    rule = cfg.recommend
    return RaceRule(alpha=rule.alpha, margin=rule.margin, min_items=rule.min_items)


def _value(unit: Unit, ok: bool, pending: bool, values: dict[str, float]) -> float | None:
    task = unit.suite.task
    reference = None if unit.item.reference is None else orjson.dumps(unit.item.reference).decode()  # as stored
    got = task.value(observe(values, ok, pending, reference))
    return None if got is None else task.unit_value(got)


async def race(
    cfg: Config,
    spec: RaceSpec,
    plan: list[Unit],
    models: list[ModelInfo],
    engine: Engine,
    store: Store,
    writer: Writer,
    run_id: str,
    quarter: str,
    *,
    concurrency: int | None = None,
    watcher: Watcher = SILENT,
) -> RaceOutcome:
    """Run the plan as a race, on one bar whose total is the most it may spend (the plan, or the budget); the stops
    are saved with the quarter. Items the judge grades are answered by every
    configuration first, in full: their values come after the sweep, so no look could read them."""
    stats = RunStats()
    speed = Speed()
    bar = watcher.bar(f"race · {quarter}", min(len(plan), spec.budget or len(plan)))

    def advance(unit: Unit, record: SampleRecord) -> None:
        bar.advance(speed.note("race", record.sample.completion_tokens or 0))

    judged = [u for u in plan if u.item.scoring == "judge"]
    extra = sum(len(u.item.turns) for u in judged)  # requests outside the race, paid from the same budget
    plan = [u for u in plan if u.item.scoring != "judge"]
    if judged:
        done = set(stored_samples(store, [u.key for u in judged]))
        todo = [u for u in judged if u.key not in done]
        _add(stats, await execute(todo, engine, writer, run_id, concurrency=concurrency, advance=advance))
    units: dict[tuple[str, str, str], list[Unit]] = {}
    parts: dict[str, tuple[str, str]] = {}  # config -> (model, preset)
    items: dict[str, dict[str, None]] = {}  # suite -> its item ids, in plan order
    for u in plan:
        key = label(u.model, u.preset)
        parts.setdefault(key, (u.model, u.preset))
        items.setdefault(u.suite.name, {})[u.item.id] = None
        units.setdefault((key, u.suite.name, u.item.id), []).append(u)
    configs = list(parts)
    owner = {c: m for c, (m, _) in parts.items()}
    needs = _needs(cfg, models, plan)
    steps = len(parts) * sum(len(ids) for ids in items.values())  # (configuration, item) pairs
    per_step = sum(len(u.item.turns) for u in plan) / max(1, steps)  # requests each pair sends
    speeds = _Speeds(needs, owner)
    order = item_order({s: list(ids) for s, ids in items.items()}, cfg.run.seed)
    contest = Race(
        configs,
        order,
        spec.rule or rule_of(cfg),
        None if spec.budget is None else int(max(0, spec.budget - extra) / per_step),
        groups(cfg, spec, configs, needs),
        may_settle=speeds.may_settle,
    )
    stored = stored_samples(store, [u.key for u in plan])
    answers: dict[str, SampleRecord] = {}
    prepared: set[str] = set()

    def noted(unit: Unit, record: SampleRecord) -> None:
        answers[unit.key] = record
        speeds.note(unit.model, record.sample.latency_s)
        advance(unit, record)

    while batch := contest.next_batch():
        todo = [u for c in contest.active for s, i in batch for u in units.get((c, s, i), []) if u.key not in stored]
        got = await execute(todo, engine, writer, run_id, concurrency=concurrency, advance=noted, prepared=prepared)
        _add(stats, got)
        for c in contest.active:
            for suite, item in batch:
                value = _mean_value(units.get((c, suite, item), []), stored, answers)
                if value is not None:
                    contest.record(c, suite, item, value)
        contest.look(batch)
        answers.clear()
    contest.close()
    stops = [contest.stops[c] for c in configs]
    rows = []
    for stop in stops:
        model, preset = parts[stop.config]
        rows.append(
            RaceRow(
                model,
                preset,
                stop.reason,
                stop.items,
                len(order),
                stop.by,
                cfg.run.seed,
                spec.budget,
                round(contest.spent * per_step) + extra,
                round(steps * per_step) + extra,
            )
        )
    save_race(store, quarter, run_id, rows)
    return RaceOutcome(stats, stops, round(contest.spent * per_step) + extra, round(steps * per_step) + extra)


def _mean_value(todo: list[Unit], stored: dict[str, StoredSample], answers: dict[str, SampleRecord]) -> float | None:
    """The item's value for a configuration: the mean over its repeats (None while one waits for the judge)."""
    values = []
    for u in todo:
        if u.key in stored:
            s = stored[u.key]
            value = _value(u, s.ok, s.pending, s.values)
        elif u.key in answers:
            record = answers[u.key]
            ok = record.sample.status == "ok"
            value = _value(u, ok, bool(record.sample.pending_judge), record.scores)
        else:
            return None
        if value is None or math.isnan(value):
            return None
        values.append(value)
    return statistics.fmean(values) if values else None


def _add(total: RunStats, part: RunStats) -> None:
    total.done += part.done
    total.errors += part.errors
    total.completion_tokens += part.completion_tokens
    for model, seconds in part.by_model.items():
        total.by_model[model] = total.by_model.get(model, 0.0) + seconds
