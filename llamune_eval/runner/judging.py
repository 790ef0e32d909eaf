"""The judge stage: stored answers graded by local judge models, resumably, with reliability figures.

Single and reference-guided grading judge one answer; pairwise grading judges two configurations' answers to the
same item, always in both orders (a disagreement between the orders is a tie and a position flip). Several judge
models form a panel: each judgement is stored per judge and aggregated when read. A verdict that cannot be parsed
is stored as such with its raw text and never becomes a score.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llamune_eval.config import Config
from llamune_eval.engines import Engine, open_engine
from llamune_eval.records import Judgement, Sample, evolve
from llamune_eval.runner.progress import SILENT, Bar, Watcher
from llamune_eval.scoring.judge_parse import parse_pairwise, parse_single
from llamune_eval.scoring.judge_prompts import (
    PAIRWISE_SCHEMA,
    TEMPLATE_VERSION,
    judge_scale,
    pairwise,
    single,
    single_schema,
)
from llamune_eval.scoring.language import language_mismatch, penalised
from llamune_eval.scoring.reliability import judge_figures
from llamune_eval.store.results import Store, Writer, now
from llamune_eval.types import EngineError, InputError, ModelInfo, SamplingParams


@dataclass
class JudgeSpec:
    judges: list[str] = field(default_factory=list)
    mode: str = ""  # "" = config's mode
    all_samples: bool = False  # also answers that deterministic scorers already scored (in-house suites)
    store: Path | None = None
    display: Watcher | None = None  # the front end's bars (ui.RichWatcher); None draws nothing


@dataclass
class Job:
    key: str
    planned: Judgement  # what is known before the verdict: the sample(s), the judge, mode, scale, trial
    messages: list[Any]
    schema: dict[str, Any]
    judge: str
    question: str = ""
    answer: str = ""


@dataclass
class JudgeOutcome:
    run_id: str
    done: int
    skipped: int
    parse_failures: int
    errors: int
    figures: dict[str, Any]


def _key(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:32]


def _answers(sample: Sample) -> list[str]:
    return list(json.loads(sample.output or "[]"))


def _references(sample: Sample, turns: int) -> list[str | None]:
    """The reference answer for each turn: a list with one entry per turn of a multi-turn item (Japanese MT-Bench),
    else the reference (several gold answers joined) for the last turn."""
    ref = json.loads(sample.reference) if sample.reference else None
    out: list[str | None] = [None] * turns
    if isinstance(ref, list) and turns > 1 and len(ref) == turns:
        return [None if r in (None, "") else str(r) for r in ref]
    if isinstance(ref, list):
        out[-1] = "\n".join(str(r) for r in ref) or None
    elif ref is not None:
        out[-1] = str(ref)
    return out


def plan_jobs(cfg: Config, store: Store, judges: list[ModelInfo], mode: str, all_samples: bool) -> list[Job]:
    """Every judgement to make: per judge, per sample (or pair of configurations), per order and trial."""
    samples = store.samples_to_judge(all_samples=all_samples)
    families = {m.name: m.family for m in judges}
    jobs: list[Job] = []
    for judge in judges:
        base: dict[str, Any] = {
            "judge_model": judge.name,
            "judge_digest": judge.digest or "",
            "judge_family": families.get(judge.name),
            "template_version": TEMPLATE_VERSION,
        }
        if mode == "pairwise":
            jobs += _pairwise_jobs(samples, judge, base)
            continue
        for s in samples:
            jobs += _single_jobs(cfg, s, judge, base, mode)
    return jobs


def _judged(s: Sample) -> dict[str, Any]:
    """What a judgement says of the sample it judges (the first of a pair)."""
    return {"suite": s.suite, "item_id": s.item_id, "repeat": s.repeat, "sample_key": s.key,
            "model": s.model, "preset": s.preset}  # fmt: skip


def _single_jobs(cfg: Config, s: Sample, judge: ModelInfo, base: dict[str, Any], mode: str) -> list[Job]:
    """Every turn of the answer judged on its own, the later ones with the earlier turns as context (MT-Bench's
    way: a two-turn item gets two verdicts and its score is their mean)."""
    turns, answers, aspect = json.loads(s.prompt or "[]"), _answers(s), s.eval_aspect
    references = _references(s, len(turns))
    scale = judge_scale(cfg.judge.scale, s.eval_aspect)
    draw = int(hashlib.sha256(s.key.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF  # stable per sample
    trials = 2 if draw < cfg.judge.rejudge_fraction else 1
    jobs = []
    for turn in range(1, min(len(turns), len(answers)) + 1):
        reference = references[turn - 1]
        sample_mode = mode if mode != "auto" else ("reference" if reference or aspect else "single")
        if sample_mode == "reference" and not (reference or aspect):
            continue
        for trial in range(trials):
            messages = single(
                turns[:turn],
                answers[:turn],
                scale=scale,
                reference=reference if sample_mode == "reference" else None,
                eval_aspect=aspect if sample_mode == "reference" else None,
            )
            key = _key(
                "single",
                s.key,
                judge.name,
                judge.digest,
                sample_mode,
                scale,
                TEMPLATE_VERSION,
                trial,
                turn,
                cfg.judge.temperature,
            )
            planned = Judgement(
                **base,
                **_judged(s),
                key=key,
                mode=sample_mode,
                position="",
                scale=scale,
                trial=trial,
                turn=turn,
                temperature=cfg.judge.temperature,
                answer_chars=len(answers[turn - 1]),
            )
            question, answer = "\n".join(turns[:turn]), answers[turn - 1]
            jobs.append(Job(key, planned, messages, single_schema(scale), judge.name, question, answer))
    return jobs


def _pairwise_jobs(samples: list[Sample], judge: ModelInfo, base: dict[str, Any]) -> list[Job]:
    by_item: dict[tuple[str, str, int], list[Sample]] = {}
    for s in samples:
        by_item.setdefault((s.suite, s.item_id, s.repeat), []).append(s)
    jobs = []
    for group in by_item.values():
        group.sort(key=lambda s: (s.model, s.preset))
        for first, second in itertools.combinations(group, 2):
            turns = json.loads(first.prompt or "[]")
            ref = "\n".join(r for r in _references(first, len(turns)) if r) or None
            for position, (a, b) in (("ab", (first, second)), ("ba", (second, first))):
                key = _key("pairwise", first.key, second.key, judge.name, judge.digest, position, TEMPLATE_VERSION)
                planned = Judgement(
                    **base,
                    **_judged(first),
                    key=key,
                    mode="pairwise",
                    sample_key_b=second.key,
                    model_b=second.model,
                    preset_b=second.preset,
                    position=position,
                    scale=None,
                    trial=0,
                    temperature=0.0,
                    answer_chars=len("".join(_answers(first))) - len("".join(_answers(second))),
                )
                messages = pairwise(turns, _answers(a), _answers(b), reference=ref)
                jobs.append(Job(key, planned, messages, PAIRWISE_SCHEMA, judge.name))
    return jobs


async def run_job(job: Job, engine: Engine, max_tokens: int) -> Judgement:
    """One verdict, sampled at the judge's temperature with a seed of its own (a re-judgement is another draw)."""
    planned = job.planned
    seed = int(job.key[:8], 16)
    params = SamplingParams(temperature=planned.temperature or 0.0, max_tokens=max_tokens, seed=seed)
    try:
        result = await engine.chat(job.judge, job.messages, params, json_schema=job.schema)
    except EngineError as exc:
        return evolve(planned, ok=False, error_kind=exc.kind.value, error=str(exc)[:500], created_at=now())
    answered = {"raw": result.text[:4000], "latency_s": result.latency_s, "created_at": now()}
    if planned.mode == "pairwise":
        verdict = parse_pairwise(result.text)
        # store the winner by configuration, whichever order the answers were shown in
        winner = (
            {"A": "first", "B": "second"}.get(verdict or "", "tie")
            if planned.position == "ab"
            else {"A": "second", "B": "first"}.get(verdict or "", "tie")
        )
        return evolve(planned, **answered, ok=verdict is not None, winner=winner if verdict is not None else None)
    scale = int(planned.scale or 0)
    parsed = parse_single(result.text, scale)
    if parsed is None:
        return evolve(planned, **answered, ok=False)
    overall, criteria = parsed.overall, dict(parsed.criteria)
    if language_mismatch(job.question, job.answer):
        overall = penalised(overall, scale)
        criteria["language_mismatch"] = 1.0
    return evolve(planned, **answered, ok=True, overall=overall, criteria=json.dumps(criteria))


async def judge(cfg: Config, spec: JudgeSpec, engine: Engine | None = None, store: Store | None = None) -> JudgeOutcome:
    """Grade what needs a judge; the quarter passes its open engine and store (then neither is closed here)."""
    mode = spec.mode or cfg.judge.mode
    names = spec.judges or cfg.judge.models
    if not names:
        raise InputError("no judge model: pass --judge MODEL or set [judge] models in llamune.toml")
    own = store is None
    store = store or Store(spec.store or cfg.paths.store)
    try:
        async with contextlib.AsyncExitStack() as stack:
            if engine is None:
                engine = await stack.enter_async_context(open_engine(cfg))
            listed = {m.name: m for m in await engine.list_models()}
            missing = [n for n in names if n not in listed]
            if missing:
                raise InputError(f"judge model(s) not served by any engine: {', '.join(missing)}")
            families = {m.name: m.family for m in listed.values()}
            jobs = plan_jobs(cfg, store, [listed[n] for n in names], mode, spec.all_samples)
            finished = store.finished_judgements()
            todo = [j for j in jobs if j.key not in finished]
            run_id = uuid.uuid4().hex[:12]
            writer = store.judgement_writer()
            try:
                caps = {
                    n: cfg.judge.max_tokens + (cfg.models[n].thinking_budget if n in cfg.models else 0) for n in names
                }
                done = await _execute(todo, engine, writer, run_id, families, caps, spec)
            finally:
                writer.close()
        figures = judge_figures(store.valid_judgements(), cfg)
        rows = store.judgements_for(j.key for j in jobs)
        return JudgeOutcome(
            run_id,
            done,
            len(jobs) - len(todo),
            sum(not r.ok and not r.error_kind for r in rows),
            sum(bool(r.error_kind) for r in rows),
            figures,
        )
    finally:
        if own:
            store.close()


async def _execute(
    todo: list[Job],
    engine: Engine,
    writer: Writer,
    run_id: str,
    families: dict[str, str | None],
    caps: dict[str, int],
    spec: JudgeSpec,
) -> int:
    watcher = spec.display or SILENT
    done = 0
    with watcher.live():
        for judge_name in dict.fromkeys(j.judge for j in todo):
            mine = [j for j in todo if j.judge == judge_name]
            task = watcher.bar(f"judging · {judge_name}", len(mine))
            await engine.prepare(judge_name)  # loaded (and kept loaded) before the first verdict
            width = await engine.width(judge_name)
            shared = iter(mine)

            async def worker(jobs: Iterator[Job] = shared, bar: Bar = task) -> None:
                nonlocal done
                for job in jobs:
                    verdict = await run_job(job, engine, caps[job.judge])
                    writer.put_judgement(evolve(verdict, run_id=run_id, model_family=families.get(verdict.model)))
                    done += 1
                    bar.advance()

            await asyncio.gather(*(worker() for _ in range(width)))
    return done
