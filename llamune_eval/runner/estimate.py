"""`llamune-eval run --plan`: what the quarter's sweep will send, what the store already holds, and how long the rest
will take per engine, before a single answer is generated.

The time per request comes from the store's history (the median latency of the model's answered samples on that
suite) or, for a model the store has not seen, from a short timed probe: two requests of the model's first planned
item with the run's parameters. A model's requests run at its width (the endpoints' caps, or what the server
answers at once), and an engine runs its models one after another, as `execute` does.
"""

from __future__ import annotations

import contextlib
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from llamune_eval.config import Config
from llamune_eval.engines import EmbeddedBackend, Engine, open_engine
from llamune_eval.runner.plan import Unit
from llamune_eval.runner.progress import SILENT
from llamune_eval.runner.sweep import Sweep, planned_units, selection
from llamune_eval.types import EngineError

Source = Literal["history", "probe", "unknown"]
PROBES = 2


@dataclass
class PlanRow:
    """One model x preset x suite of the plan."""

    engine: str  # the endpoint that serves the model
    model: str
    preset: str
    suite: str
    planned: int  # samples
    stored: int  # samples already finished in the store
    requests: int  # requests still to send (one per turn of each missing sample)
    latency_s: float | None  # per request
    source: Source
    seconds: float | None  # requests x latency / the model's width


@dataclass
class PlanEstimate:
    rows: list[PlanRow]
    widths: dict[str, int]  # model -> requests in flight
    judge_requests: int  # verdicts the judge stage will ask for (single mode: one per judged turn per judge)
    engines: dict[str, float | None] = field(default_factory=dict)  # endpoint -> seconds (None: a model unknown)

    @property
    def requests(self) -> int:
        return sum(r.requests for r in self.rows)

    def within(self, seconds: float) -> int:
        """A time budget as requests (`--budget 6h`): what is stored already (it costs no time), and the requests
        left at the plan's measured pace (all of them when the pace is unknown)."""
        done = sum(r.stored for r in self.rows)
        pace = self.seconds
        if not pace or self.requests <= 0:
            return done + self.requests
        return done + int(seconds * self.requests / pace)

    @property
    def seconds(self) -> float | None:
        """The longest engine's time: engines run side by side."""
        known = list(self.engines.values())
        return None if not known or any(s is None for s in known) else max(s for s in known if s is not None)


async def estimate(cfg: Config, spec: Sweep, *, probe: bool = True, engine: Engine | None = None) -> PlanEstimate:
    """The plan and its ETA. Opens the store read-only (a missing store holds nothing) and sends nothing but the
    probes (none with `probe=False`, or for a model the store has history for)."""
    presets, names, _, suites = selection(cfg, spec)
    finished, history = _stored(Path(spec.store or cfg.paths.store))
    async with contextlib.AsyncExitStack() as stack:
        if engine is None:
            engine = await stack.enter_async_context(open_engine(cfg))
        for backend in engine.backends:
            if isinstance(backend, EmbeddedBackend):
                backend.ready_models((spec.display or SILENT).joining)
        models, plan = await planned_units(cfg, spec, engine, suites, presets, names)
        widths = {m.name: spec.concurrency or cfg.run.concurrency or await engine.width(m.name) for m in models}
        probed: dict[str, float | None] = {}
        if probe:
            for m in models:
                if not any(model == m.name for model, _ in history):
                    first = next((u for u in plan if u.model == m.name), None)
                    probed[m.name] = await _probe(engine, first) if first is not None else None
    endpoint = {m.name: m.endpoint or m.engine for m in models}
    rows = _rows(plan, finished, history, probed, widths, endpoint)
    return PlanEstimate(rows, widths, _judge_requests(cfg, plan), _per_engine(rows))


def _stored(path: Path) -> tuple[set[str], dict[tuple[str, str], tuple[float, int]]]:
    if not path.is_file():
        return set(), {}
    from llamune_eval.store.frames import ReadOnlyStore
    from llamune_eval.store.selection import latency_medians

    store = ReadOnlyStore(path)
    try:
        return store.finished_keys(), latency_medians(store)
    finally:
        store.close()


async def _probe(engine: Engine, unit: Unit) -> float | None:
    """The median of `PROBES` timed requests of one planned item (the model loaded first, as the run does)."""
    with contextlib.suppress(EngineError):
        await engine.prepare(unit.model, unit.params.num_ctx)
        times = []
        for _ in range(PROBES):
            start = time.perf_counter()
            await engine.chat(unit.model, unit.suite.messages(unit.item, []), unit.params)
            times.append(time.perf_counter() - start)
        return statistics.median(times)
    return None


def _rows(
    plan: list[Unit],
    finished: set[str],
    history: dict[tuple[str, str], tuple[float, int]],
    probed: dict[str, float | None],
    widths: dict[str, int],
    endpoint: dict[str, str],
) -> list[PlanRow]:
    groups: dict[tuple[str, str, str], list[Unit]] = {}
    for u in plan:
        groups.setdefault((u.model, u.preset, u.suite.name), []).append(u)
    rows = []
    for (model, preset, suite), units in groups.items():
        missing = [u for u in units if u.key not in finished]
        requests = sum(len(u.item.turns) for u in missing)
        latency: float | None
        source: Source
        if (model, suite) in history:
            latency, source = history[(model, suite)][0], "history"
        elif probed.get(model) is not None:
            latency, source = probed[model], "probe"
        else:
            latency, source = None, "unknown"
        seconds = 0.0 if not requests else (None if latency is None else requests * latency / widths[model])
        rows.append(
            PlanRow(
                endpoint[model],
                model,
                preset,
                suite,
                len(units),
                len(units) - len(missing),
                requests,
                latency,
                source,
                seconds,
            )
        )
    return rows


def _per_engine(rows: list[PlanRow]) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for r in rows:
        before = out.get(r.engine, 0.0)
        out[r.engine] = None if before is None or r.seconds is None else before + r.seconds
    return out


def _judge_requests(cfg: Config, plan: list[Unit]) -> int:
    """Single-mode verdicts of the plan: one per turn of each judged item, per judge model (the judge stage skips
    the verdicts it already has: this is the most it will ask for)."""
    if not cfg.judge.models:
        return 0
    judged = [u for u in plan if u.item.scoring == "judge"]
    return sum(len(u.item.turns) for u in judged) * len(cfg.judge.models)
