"""Running units against the engine: bounded concurrency per model, score at once, hand each sample to the
store's writer the moment it is done. Cancellation (Ctrl-C) stops cleanly: finished samples are already queued
and the caller closes the writer."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from llamune_eval.engines import Engine
from llamune_eval.records import Sample
from llamune_eval.runner.plan import Unit
from llamune_eval.store.results import SampleRecord, Writer, now
from llamune_eval.types import EngineError

Advance = Callable[[Unit, SampleRecord], None]


@dataclass
class RunStats:
    done: int = 0
    errors: int = 0
    completion_tokens: int = 0
    by_model: dict[str, float] = field(default_factory=dict)  # seconds per model


async def run_unit(unit: Unit, engine: Engine, run_id: str) -> SampleRecord:
    """One sample: every turn of the item in order, then its score. Engine failures become error samples."""
    answers: list[str] = []
    thoughts: list[str] = []
    item = unit.item

    def sample(**outcome: Any) -> Sample:
        """The unit's own fields with what its requests produced."""
        return Sample(
            key=unit.key,
            run_id=run_id,
            suite=unit.suite.name,
            suite_version=unit.suite.version,
            template_version=unit.suite.template_version,
            kind=unit.suite.kind,
            category=unit.suite.category,
            item_id=item.id,
            model=unit.model,
            model_digest=unit.digest,
            engine=unit.engine,
            preset=unit.preset,
            params=unit.params_json,
            preset_params=unit.preset_params_json,
            repeat=unit.repeat,
            seed=unit.params.seed,
            prompt=json.dumps(item.turns, ensure_ascii=False),
            reference=json.dumps(item.reference, ensure_ascii=False) if item.reference is not None else None,
            eval_aspect=item.eval_aspect,
            item_category=item.meta.get("category"),
            output=json.dumps(answers, ensure_ascii=False),
            created_at=now(),
            **outcome,
        )

    prompt_tokens = completion_tokens = 0
    latency = 0.0
    waits: dict[str, float] = {}  # queue_s and load_s, where the engine says
    ttft: float | None = None
    rates: list[float] = []
    unsupported: dict[str, str] = {}
    last: dict[str, Any] = {}  # the last answer's endpoint, finish reason and attempts
    try:
        for _ in item.turns:
            result = await engine.chat(unit.model, unit.suite.messages(item, answers), unit.params)
            answers.append(result.text)
            thoughts.append(result.thinking)
            prompt_tokens += result.prompt_tokens or 0
            completion_tokens += result.completion_tokens or 0
            latency += result.latency_s
            ttft = result.ttft_s if ttft is None else ttft
            if result.tokens_per_s:
                rates.append(result.tokens_per_s)
            unsupported |= result.unsupported_params
            for name, value in (("queue_s", result.queue_s), ("load_s", result.load_s)):
                if value is not None:
                    waits[name] = waits.get(name, 0.0) + value
            last = {
                "endpoint": result.endpoint,
                "finish_reason": result.finish_reason.value,
                "attempts": result.attempts,
            }
    except EngineError as exc:
        failed = last | {"status": "error", "error_kind": exc.kind.value, "error": str(exc)[:500]}
        return SampleRecord(sample(**failed | {"attempts": exc.attempts}), {})
    score = unit.suite.task.score(item, answers)
    done = sample(
        **last,
        prompt_tokens=prompt_tokens,
        thinking=json.dumps(thoughts, ensure_ascii=False) if any(thoughts) else None,
        scoring_version=getattr(unit.suite.task, "scoring_version", None),
        completion_tokens=completion_tokens,
        ttft_s=ttft,
        latency_s=latency,
        tokens_per_s=sum(rates) / len(rates) if rates else None,
        status="ok",
        **waits,
        unsupported=json.dumps(unsupported, ensure_ascii=False) if unsupported else None,
        parsed=score.parsed,
        parse_ok=score.parse_ok,
        pending_judge=score.pending_judge,
    )
    return SampleRecord(done, score.stored())


async def execute(
    units: list[Unit],
    engine: Engine,
    writer: Writer,
    run_id: str,
    *,
    concurrency: int | None = None,
    advance: Advance | None = None,
    prepared: set[str] | None = None,
) -> RunStats:
    """Run `units` (already filtered to the unfinished ones), one model at a time, in plan order. `prepared`: the
    models already made ready by an earlier call (a race runs batch after batch; Ollama's load and its measure of
    parallel slots happen once per run, not once per batch)."""
    stats = RunStats()
    by_model: dict[str, list[Unit]] = {}
    for unit in units:
        by_model.setdefault(unit.model, []).append(unit)
    for model, todo in by_model.items():
        contexts = [u.params.num_ctx for u in todo if u.params.num_ctx]
        if prepared is None or model not in prepared:
            await engine.prepare(model, max(contexts) if contexts else None)  # loaded before anything is timed
            if prepared is not None:
                prepared.add(model)
        width = concurrency or await engine.width(model)
        started = time.perf_counter()

        async def worker(queue: Iterator[Unit]) -> None:
            for unit in queue:
                record = await run_unit(unit, engine, run_id)
                writer.put(record)
                stats.done += 1
                stats.errors += record.sample.status != "ok"
                stats.completion_tokens += record.sample.completion_tokens or 0
                if advance is not None:
                    advance(unit, record)

        shared = iter(todo)  # workers pull from one iterator: no unit is taken twice
        await asyncio.gather(*(worker(shared) for _ in range(width)))
        stats.by_model[model] = time.perf_counter() - started
    return stats
