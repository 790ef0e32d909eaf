"""Judging 1,000 stored answers at concurrency 16 against the instant stub vs a plain asyncio + httpx loop sending
the same judge requests (goal >= 0.9); and the bootstrap of 10,000 resamples over 10,000 items (wall time)."""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

from bench.engine_overhead import _drive, instant_stub
from llamune_eval import aio
from llamune_eval.config import Config
from llamune_eval.records import Sample
from llamune_eval.runner.judging import JudgeSpec, judge, plan_jobs
from llamune_eval.scoring.stats import bootstrap_ci
from llamune_eval.store.results import SAMPLE_COLUMNS, SampleRecord, Store, now
from llamune_eval.types import ModelInfo

QUESTION = "取引先への納期遅延のお詫びメールを書いてください。"
ANSWER = "件名：納期遅延のお詫び\n\n平素より大変お世話になっております。" * 4


def make_store(path: Path, n: int) -> None:
    with Store(path) as store:
        writer = store.writer()
        for i in range(n):
            row = {c: None for c in SAMPLE_COLUMNS} | {
                "key": f"s{i}", "suite": "business-writing", "kind": "inhouse", "item_id": str(i), "model": "m",
                "preset": "general", "repeat": 0, "status": "ok", "params": "{}", "prompt": json.dumps([QUESTION]),
                "output": json.dumps([ANSWER]), "pending_judge": True, "parse_ok": True, "created_at": now(),
                "reference": json.dumps("件名：お詫び"), "eval_aspect": None,
            }  # fmt: skip
            writer.put(SampleRecord(Sample.model_validate(row), {}))
        writer.close()


def _cfg(url: str, store: Path, conc: int) -> Config:
    return Config.model_validate({
        "engines": [{"kind": "openai", "url": url, "max_concurrency": conc}], "paths": {"store": str(store)},
        "judge": {"models": ["stub"], "rejudge_fraction": 0.0},
    })  # fmt: skip


async def bare(url: str, store_path: Path, conc: int) -> float:
    """Build the same judge prompts from the store and send them; parse nothing, store nothing."""
    start = time.perf_counter()
    with Store(store_path) as store:
        jobs = plan_jobs(_cfg(url, store_path, conc), store, [ModelInfo(name="stub", engine="openai", endpoint=url)],
                         "auto", False)  # fmt: skip
    bodies = [{"model": "stub", "messages": [m.model_dump() for m in j.messages], "max_tokens": 400,
               "temperature": 0.0, "seed": 0, "stream": True, "stream_options": {"include_usage": True},
               "response_format": {"type": "json_schema", "json_schema": {"name": "response", "schema": j.schema}}}
              for j in jobs]  # fmt: skip
    limits = httpx.Limits(max_connections=conc * 2, max_keepalive_connections=conc * 2)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60, trust_env=False) as client:

        async def one(i: int) -> int:
            async with client.stream("POST", "/v1/chat/completions", json=bodies[i]) as r:
                async for line in r.aiter_lines():
                    if line.startswith("data: ") and line != "data: [DONE]":
                        json.loads(line[6:])
            return 1

        await _drive(len(bodies), conc, one)
    return time.perf_counter() - start


def main(n: int = 1000, conc: int = 16) -> None:
    with tempfile.TemporaryDirectory() as tmp, instant_stub("judge") as url:
        bares, ours = [], []
        for i in range(3):
            path = Path(tmp) / f"j{i}.duckdb"
            make_store(path, n)
            bares.append(asyncio.run(bare(url, path, conc)))
            start = time.perf_counter()
            outcome = aio.run(judge(_cfg(url, path, conc), JudgeSpec()))
            ours.append(time.perf_counter() - start)
            assert outcome.done == n and outcome.parse_failures == 0
        b, o = min(bares), min(ours)
        print(f"[judge] {n} stored answers @ {conc} on the instant stub: bare loop {n / b:,.0f}/s ({b:.2f} s), "
              f"judge stage {n / o:,.0f}/s ({o:.2f} s); ratio {b / o:.3f} (goal >= 0.9)")  # fmt: skip
    rng = np.random.default_rng(0)
    for kind, values in (("continuous", rng.random(10_000)), ("right/wrong", (rng.random(10_000) < 0.7) * 1.0)):
        start = time.perf_counter()
        bootstrap_ci(values, resamples=10_000, seed=0)
        print(f"[stats] bootstrap, 10,000 resamples over 10,000 {kind} items: {time.perf_counter() - start:.2f} s")


if __name__ == "__main__":
    main()
