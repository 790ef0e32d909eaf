"""The measure stage: each configuration's memory and its speed, taken under the same conditions for all.

Per model, one context at a time (`probe_session`: on the embedded engine a child of its own with one slot of the
configuration's `num_ctx`), an untimed warm-up first, then the fixed probes one request at a time with the
configurations taken in turn (probe 1 of every configuration, then probe 2, the order rotated each round), each
prompt opened with a new number so that no engine answers from its prompt cache. Models are measured apart, never
side by side. The memory the engine holds afterwards is the configuration's footprint. Every figure is stored the
moment it is taken: a killed stage resumes where it stopped.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from llamune_eval.analysis.memory import MEASURED, context_of
from llamune_eval.engines.engine import Engine
from llamune_eval.engines.machine import this_machine
from llamune_eval.engines.probe import ProbeSession, measurable, probe_session
from llamune_eval.store import measures
from llamune_eval.store.results import Store
from llamune_eval.types import EngineError, Footprint, Message, SamplingParams, Timing

if TYPE_CHECKING:
    from llamune_eval.analysis import Evidence
    from llamune_eval.config import Config

PROBES_VERSION = "probes-1"
PROBES = (
    "日本の四季の特徴を、それぞれの季節の行事に触れながら説明してください。",
    "会議の議事録を作るときに気をつけるべき点を、順を追って説明してください。",
    "新しい社員に情報セキュリティの基本を教える文章を書いてください。",
    "表計算ソフトで売上を月別に集計する手順を説明してください。",
    "健康的な食生活のために毎日できる工夫を挙げて、理由も説明してください。",
)
NONCE = "（計測 {}）\n"  # opens every probe, with a new random number (`NONCE_BYTES` bytes in hex)
NONCE_BYTES = 4
# a little more than one batch of 512 tokens in any tokenizer (plain English is about 4 characters a token), so
# the engine's compute buffers are in use when its memory is read; cut to fit a small context
WARMUP = "Summarise the following text in one sentence.\n" + "The quick brown fox jumps over the lazy dog. " * 48


@dataclass(frozen=True)
class Target:
    """A configuration to measure: model, preset and the preset's own parameters."""

    model: str
    preset: str
    params: SamplingParams | None

    @property
    def label(self) -> str:
        return f"{self.model}:{self.preset}"

    @property
    def num_ctx(self) -> int:
        return context_of(self.params)


@dataclass
class MeasureOutcome:
    timed: int = 0
    skipped: int = 0
    errors: int = 0
    footprints: list[Footprint] = field(default_factory=list)

    def describe(self) -> str:
        memory = ", ".join(f"{f.model} @{f.num_ctx}: {f.bytes / 2**20:.0f} MiB ({f.source})" for f in self.footprints)
        return f"{self.timed} probes timed, {self.skipped} already stored, {self.errors} failed" + (
            f"; memory {memory}" if memory else ""
        )


def probe_params(params: SamplingParams | None, max_tokens: int, probe: int) -> SamplingParams:
    """The configuration's own parameters, the answer capped at `max_tokens`, one fixed seed per probe."""
    base = params or SamplingParams()
    return base.model_copy(update={"max_tokens": min(base.max_tokens, max_tokens), "seed": 1000 + probe})


def probe_messages(probe: int) -> list[Message]:
    """The probe's fixed prompt behind a new number: the engine cannot serve it from its prompt cache."""
    return [Message(role="user", content=NONCE.format(secrets.token_hex(NONCE_BYTES)) + PROBES[probe % len(PROBES)])]


async def warm_up(session: ProbeSession, *, full_batch: bool = True) -> None:
    """One untimed request: weights paged in and, with `full_batch`, a prompt long enough to fill a batch so the
    buffers are touched before the memory is read (a failure is left for the timed requests to report)."""
    ctx = session.num_ctx or 2048
    prompt = WARMUP[: max(200, int(ctx * 1.2))] if full_batch else PROBES[0]
    with suppress(EngineError):
        await session.ask([Message(role="user", content=prompt)], SamplingParams(temperature=0.0, max_tokens=4))


async def timed(
    session: ProbeSession,
    quarter: str,
    purpose: Literal["speed", "contention"],
    c: Target,
    probe: int,
    max_tokens: int,
    deadline_s: float | None = None,
    *,
    set_id: str = "",
    step: int = 0,
) -> Timing:
    """One timed probe of configuration `c`; a failure is a row too (ok false, the error kept). A probe still
    running at `deadline_s` is cut: its TTFT and tokens/s are then what was seen by then (bounds that show it slow)."""
    where = Timing(quarter=quarter, purpose=purpose, set_id=set_id, step=step, model=c.model, preset=c.preset,
                   num_ctx=c.num_ctx, probe=probe)  # fmt: skip
    seen: list[float] = []
    start = time.perf_counter()
    try:
        ask = session.ask(
            probe_messages(probe), probe_params(c.params, max_tokens, probe), lambda _: seen.append(time.perf_counter())
        )
        r = await asyncio.wait_for(ask, deadline_s)
    except TimeoutError:
        now = time.perf_counter()
        first = seen[0] if seen else now
        rate = (len(seen) - 1) / (now - first) if len(seen) > 1 and now > first else 0.5 / (now - start)
        cut = {"ttft_s": first - start, "latency_s": now - start, "tokens_per_s": rate, "error": "cut at deadline"}
        return where.model_copy(update=cut)
    except EngineError as exc:
        return where.model_copy(update={"ok": False, "error": str(exc)[:300]})
    return where.model_copy(
        update={
            "ttft_s": r.ttft_s,
            "latency_s": r.latency_s,
            "tokens_per_s": r.tokens_per_s,
            "prompt_tokens": r.prompt_tokens,
            "completion_tokens": r.completion_tokens,
            "cached_tokens": r.cached_tokens,
        }
    )


async def measure(
    store: Store,
    quarter: str,
    engine: Engine,
    configs: Sequence[Target],
    *,
    probes: int = 3,
    max_tokens: int = 32,
    advance: Callable[[int], None] | None = None,
) -> MeasureOutcome:
    """Time every configuration's probes and measure each model's memory at each context its presets use."""
    machine = this_machine().model_dump(mode="json")
    out = MeasureOutcome()
    done = {(t.model, t.preset, t.probe) for t in measures.timings(store, quarter, "speed") if t.ok}
    held = {(f.model, f.num_ctx) for f in measures.footprints(store, quarter) if f.source in MEASURED}
    groups: dict[tuple[str, int], list[Target]] = {}
    for c in configs:
        groups.setdefault((c.model, c.num_ctx), []).append(c)
    for (model, num_ctx), members in groups.items():
        todo = [(p, c) for p in range(probes) for c in _rotated(members, p) if (c.model, c.preset, p) not in done]
        out.skipped += probes * len(members) - len(todo)
        if not todo and ((model, num_ctx) in held or not await measurable(engine, model)):
            continue  # timed, and its memory measured or not measurable from outside
        async with probe_session(engine, model, num_ctx) as session:
            await warm_up(session)
            for p, c in todo:
                t = await timed(session, quarter, "speed", c, p, max_tokens)
                measures.save_timing(store, t, machine)
                out.timed += t.ok
                out.errors += not t.ok
                if advance is not None:
                    advance(1)
            fp = await session.footprint()
            if fp is not None:
                measures.save_footprint(store, quarter, fp, machine)
                out.footprints.append(fp)
    return out


def _rotated(members: list[Target], probe: int) -> list[Target]:
    """Round `probe` starts one configuration later: none is always first after the warm-up."""
    k = probe % len(members)
    return members[k:] + members[:k]


def targets(ev: Evidence) -> list[Target]:
    """Every configuration of the quarter's evidence (`analysis.Evidence`), model by model."""
    return [Target(c.model, c.preset, c.params) for c in ev.configs.values()]


async def measure_quarter(
    cfg: Config, store: Store, quarter: str, engine: Engine, ev: Evidence, advance: Callable[[int], None] | None = None
) -> MeasureOutcome:
    """The quarter's measure stage with `[measure]`'s probes; the evidence is re-read by the caller."""
    return await measure(
        store,
        quarter,
        engine,
        targets(ev),
        probes=cfg.measure.probes,
        max_tokens=cfg.measure.max_tokens,
        advance=advance,
    )
