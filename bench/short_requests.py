"""Short requests on a fast engine: the harness's fixed cost and its ceiling (issue 29's workload).

The workload: 1,000 items 「質問: 96 + 73 は？ 回答:」 (an in-house suite, exact scoring) with a preset of
`max_tokens` 16 and stop "\\n", against the instant stub in its own process. Fresh processes, interleaved rounds.

1. Concurrency 8: `llamune-eval run` (sweep, recommend, report) and `--sweep-only` against the bare loop. Goal:
   run / bare <= 1.2. Printed beside it: when the first request reached the stub after the process started
   (goal: 0.35 s) and what the stages after the sweep cost (run - sweep-only; goal: 0.3 s).
2. Concurrency 64, `--sweep-only`: requests per second against bare httpx and bare aiohttp loops. Goal: >= 0.8x the
   faster. Printed beside it: the sweep at concurrency 8 (more concurrency should never be slower).

The bare loops import nothing of llamune_eval: `body()` below builds the request bodies from the suite's file in a
few lines, and `tests/test_bench_bodies.py` holds them equal to what the engine layer sends. aiohttp is the
`bench` extra (`pip install -e .[bench]`); without it that row is skipped.
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

import httpx

from bench.engine_overhead import instant_stub
from bench.fast_path import _fresh
from bench.report_render import _timed
from bench.runner_overhead import ROOT

PRESET = {"base": "fast", "max_tokens": 16, "stop": ["\n"]}  # the `short` preset of the run's config


def body(item: dict[str, Any], model: str) -> dict[str, Any]:
    """The request the engine layer sends for an in-house item under PRESET to a generic OpenAI server."""
    return {"model": model, "messages": [{"role": "user", "content": item["input"]}], "max_tokens": 16,
            "stream": True, "stream_options": {"include_usage": True}, "temperature": 0.0, "top_p": 1.0,
            "seed": 0, "stop": ["\n"]}  # fmt: skip


def make_suite(folder: Path, n: int) -> Path:
    """An in-house suite of `n` additions, seeded."""
    rng = random.Random(0)
    suite = folder / "arith"
    suite.mkdir(parents=True, exist_ok=True)
    with (suite / "items.jsonl").open("w", encoding="utf-8") as f:
        for i in range(n):
            a, b = rng.randint(10, 99), rng.randint(10, 99)
            row = {"id": f"a{i}", "input": f"質問: {a} + {b} は？ 回答:", "output": str(a + b), "scoring": "exact"}
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    (suite / "suite.yaml").write_text('name: arith\nversion: "1"\ncategory: reasoning\nscoring: exact\n'
                                      "max_tokens: 16\nitems: items.jsonl\n", encoding="utf-8")  # fmt: skip
    return suite / "items.jsonl"


BARE = textwrap.dedent(
    """
    import asyncio, json, sys
    import httpx

    def body(item, model):
        {body}

    async def main(url, path, conc):
        bodies = [body(json.loads(line), "stub") for line in open(path, encoding="utf-8")]
        limits = httpx.Limits(max_connections=conc, max_keepalive_connections=conc)
        async with httpx.AsyncClient(base_url=url, limits=limits, timeout=600, trust_env=False) as client:
            todo = iter(bodies)

            async def worker():
                for b in todo:
                    async with client.stream("POST", "/v1/chat/completions", json=b) as r:
                        async for line in r.aiter_lines():
                            if line.startswith("data: ") and line != "data: [DONE]":
                                json.loads(line[6:])

            await asyncio.gather(*(worker() for _ in range(conc)))

    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
    """
)

BARE_AIOHTTP = textwrap.dedent(
    """
    import asyncio, json, sys
    import aiohttp

    def body(item, model):
        {body}

    async def main(url, path, conc):
        bodies = [body(json.loads(line), "stub") for line in open(path, encoding="utf-8")]
        connector = aiohttp.TCPConnector(limit=conc)
        async with aiohttp.ClientSession(url, connector=connector) as session:
            todo = iter(bodies)

            async def worker():
                for b in todo:
                    async with session.post("/v1/chat/completions", json=b) as r:
                        async for raw in r.content:
                            line = raw.decode().rstrip("\\n")
                            if line.startswith("data: ") and line != "data: [DONE]":
                                json.loads(line[6:])

            await asyncio.gather(*(worker() for _ in range(conc)))

    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
    """
)


def _script(template: str) -> str:
    import inspect

    source = inspect.getsource(body).split('"""', 2)[2].strip()  # the function's body, after its docstring
    return template.replace("{body}", source.replace("\n", "\n        "))


def _config(tmp: Path, url: str, conc: int) -> Path:
    path = tmp / f"c{conc}.toml"
    path.write_text(
        f'[[engines]]\nkind = "openai"\nurl = "{url}"\nmax_concurrency = {conc}\n'
        f'[paths]\nstore = "{tmp / "s.duckdb"}"\nrecommended = "{tmp / "rec"}"\nreports = "{tmp / "rep"}"\n'
        f'[run]\nsuites_dir = "{tmp / "suites"}"\npresets = ["short"]\n[usage]\ndatabases = []\n'
        f"[measure]\nenabled = false\n[presets.short]\n"
        + "".join(f"{k} = {json.dumps(v)}\n" for k, v in PRESET.items()),
        encoding="utf-8",
    )  # fmt: skip
    return path


def _run(tmp: Path, url: str, conc: int, *args: str) -> tuple[float, float]:
    """Seconds of a fresh `llamune-eval run`, and when its first request reached the stub after it started."""
    _fresh(tmp, "s")
    httpx.get(f"{url}/mark")
    started = time.time()
    took = _timed([sys.executable, "-m", "llamune_eval.cli.main", "run", "-c", str(_config(tmp, url, conc)),
                   "--no-progress", *args], tmp)  # fmt: skip
    first = httpx.get(f"{url}/first").json()
    return took, (first - started) if first else float("nan")


def main(n: int = 1000, rounds: int = 3) -> None:
    try:
        import aiohttp  # noqa: F401
    except ImportError:
        aio = False
    else:
        aio = True
    with tempfile.TemporaryDirectory() as tmp_, instant_stub() as url:
        tmp = Path(tmp_)
        items = make_suite(tmp / "suites", n)
        bare, bare_aio = tmp / "bare.py", tmp / "bare_aiohttp.py"
        bare.write_text(_script(BARE), encoding="utf-8")
        bare_aio.write_text(_script(BARE_AIOHTTP), encoding="utf-8")
        t: dict[str, list[float]] = {k: [] for k in ("bare8", "run", "sweep8", "first", "bare64", "aio64", "sweep64")}
        _timed([sys.executable, str(bare), url, str(items), "8"], ROOT)  # warm-up: the OS's file cache
        for _ in range(rounds):
            t["bare8"].append(_timed([sys.executable, str(bare), url, str(items), "8"], ROOT))
            took, first = _run(tmp, url, 8)
            t["run"].append(took)
            t["first"].append(first)
            t["sweep8"].append(_run(tmp, url, 8, "--sweep-only")[0])
            t["bare64"].append(_timed([sys.executable, str(bare), url, str(items), "64"], ROOT))
            if aio:
                t["aio64"].append(_timed([sys.executable, str(bare_aio), url, str(items), "64"], ROOT))
            t["sweep64"].append(_run(tmp, url, 64, "--sweep-only")[0])
    med = {k: statistics.median(v) for k, v in t.items() if v}
    ratio = statistics.median([r / b for r, b in zip(t["run"], t["bare8"], strict=True)])
    print(f"[short requests] {n} items @ 8, fresh processes, median of {rounds} interleaved rounds: bare httpx "
          f"{med['bare8']:.2f} s, `llamune-eval run` {med['run']:.2f} s (ratio {ratio:.2f}x, goal <= 1.2), "
          f"--sweep-only {med['sweep8']:.2f} s; first request {med['first']:.2f} s after start (goal 0.35 s); "
          f"stages after the sweep {med['run'] - med['sweep8']:.2f} s (goal 0.3 s)")  # fmt: skip
    rps = {k: n / med[k] for k in ("bare64", "aio64", "sweep64", "sweep8") if k in med}
    fastest = max(rps.get("bare64", 0), rps.get("aio64", 0))
    aio_text = f", bare aiohttp {rps['aio64']:.0f}" if "aio64" in rps else ", bare aiohttp not installed"
    print(f"[short requests] {n} items @ 64, --sweep-only, whole processes: bare httpx {rps['bare64']:.0f} req/s"
          f"{aio_text}; the sweep {rps['sweep64']:.0f} req/s = {rps['sweep64'] / fastest:.2f}x the faster bare "
          f"(goal >= 0.8); the sweep @ 8: {rps['sweep8']:.0f} req/s")  # fmt: skip


if __name__ == "__main__":
    main()
