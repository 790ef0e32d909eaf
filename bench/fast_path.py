"""The fast path: a whole `llamune-eval run` (sweep, recommend, report, leaderboard) against the bare loop.

Both sides are fresh processes, start-up and exit included: what an operator waits for.
1. Instant stub, 1,000 JCommonsenseQA items at concurrency 16. The bare loop starts where the run starts, from
   the suite's files: it reads the items with the benchmark's own loader (the same prompts; nothing else of
   llamune_eval: no runner, store, engine layer or CLI), builds the same request bodies and streams them with
   httpx on asyncio. Goal: run / bare <= 1.2. Printed beside it, the floor: the same loop reading bodies built
   before timing, importing only asyncio, json and httpx. Counted at the stub: model-list and `/props` requests
   per run (goal: one listing per engine).
2. Embedded engine (bundled SmolLM2, 4 slots), 200 items. The bare side starts the same llama.cpp server, sends
   the same requests with httpx and stops it. Goal: run / bare <= 1.03.
Rounds alternate between the sides so drift on the machine hits all alike; the ratio is the median of the
rounds' own ratios (this 2-core machine varies by about 10 % between minutes).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

import httpx

from bench.engine_overhead import instant_stub
from bench.runner_overhead import ROOT, make_items

LEAN = textwrap.dedent(
    """
    import asyncio, json, sys
    import httpx

    def from_suite(folder, model):
        from llamune_eval.benchmarks import jcommonsenseqa  # the items and prompts, nothing of the harness

        suite = jcommonsenseqa.load(folder)
        return [{"model": model, "messages": [m.model_dump() for m in suite.messages(item)], "max_tokens": 8,
                 "temperature": 0.0, "top_p": 1.0, "top_k": 1, "repeat_penalty": 1.0, "seed": 0, "stream": True,
                 "stream_options": {"include_usage": True}} for item in suite.items]

    async def main(url, path, conc, model="stub"):
        if path.endswith(".jsonl"):
            bodies = [json.loads(line) for line in open(path, encoding="utf-8")]
        else:
            bodies = from_suite(path, model)
        limits = httpx.Limits(max_connections=conc * 2, max_keepalive_connections=conc * 2)
        async with httpx.AsyncClient(base_url=url, limits=limits, timeout=600, trust_env=False) as client:
            todo = iter(bodies)

            async def worker():
                for body in todo:
                    request = client.build_request("POST", "/v1/chat/completions", json=body)
                    try:
                        r = await client.send(request, stream=True)
                    except httpx.RemoteProtocolError:  # a stale keep-alive connection: resend, as the engine does
                        r = await client.send(request, stream=True)
                    try:
                        async for line in r.aiter_lines():
                            if line.startswith("data: ") and line != "data: [DONE]":
                                json.loads(line[6:])
                    finally:
                        await r.aclose()

            await asyncio.gather(*(worker() for _ in range(conc)))

    if __name__ == "__main__":
        asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
    """
)

EMBEDDED_BARE = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    sys.path.insert(0, str(Path(sys.argv[4]).parent))
    from lean import main
    from llamune_eval.engines import bundled
    from llamune_eval.engines.embedded import EmbeddedServer

    srv = EmbeddedServer("smollm2:135m", bundled.model_file(bundled.SMOLLM2), parallel=int(sys.argv[2]),
                         ctx_per_slot=int(sys.argv[3]))
    url = srv.start()
    try:
        asyncio.run(main(url, sys.argv[1], int(sys.argv[2]), "smollm2:135m"))
    finally:
        srv.stop()
    """
)


def _bodies(suite_dir: Path, out: Path, model: str) -> Path:
    """The floor's requests, built before timing by the bare script's own `from_suite`: one definition of the body
    the runner sends for the `fast` preset (same messages, sampling fields and seed)."""
    lean: dict[str, Any] = {"__name__": "lean"}
    exec(LEAN, lean)  # defines from_suite and main; runs nothing
    with out.open("w", encoding="utf-8") as f:
        for body in lean["from_suite"](str(suite_dir), model):
            f.write(json.dumps(body, ensure_ascii=False) + "\n")
    return out


def _config(tmp: Path, name: str, engine: str, suites: Path) -> Path:
    path = tmp / f"{name}.toml"
    path.write_text(
        f'{engine}\n[paths]\nstore = "{tmp / name}.duckdb"\nrecommended = "{tmp / name}-recommended"\n'
        f'reports = "{tmp / name}-reports"\n[run]\nsuites_dir = "{suites}"\npresets = ["fast"]\n'
        "[usage]\ndatabases = []\n",
        encoding="utf-8",
    )
    return path


def _timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{' '.join(cmd[:4])}… failed:\n{done.stderr[-2000:]}")
    return time.perf_counter() - start


def _fresh(tmp: Path, name: str) -> None:
    for p in tmp.glob(f"{name}.duckdb*"):
        p.unlink()


def stub(n: int = 1000, conc: int = 16, rounds: int = 5) -> None:
    with tempfile.TemporaryDirectory() as tmp_, instant_stub() as url:
        tmp = Path(tmp_)
        lean = tmp / "lean.py"
        lean.write_text(LEAN, encoding="utf-8")
        suites = tmp / "suites"
        suite_dir = make_items(suites, n)
        bodies = _bodies(suite_dir, tmp / "bodies.jsonl", "stub")
        engine = f'[[engines]]\nkind = "openai"\nurl = "{url}"\nmax_concurrency = {conc}'
        cfg = _config(tmp, "e2e", engine, suites)
        run = [sys.executable, "-m", "llamune_eval.cli.main", "run", "-c", str(cfg), "--no-progress"]
        bare = [sys.executable, str(lean), url, str(suite_dir), str(conc)]
        floor = [sys.executable, str(lean), url, str(bodies), str(conc)]
        _timed(bare)  # warm-up: the OS's file cache
        times: dict[str, list[float]] = {"bare": [], "floor": [], "run": [], "sweep": []}
        listings: dict[str, int] = {}
        for _ in range(rounds):
            times["bare"].append(_timed(bare))
            times["floor"].append(_timed(floor))
            _fresh(tmp, "e2e")
            before = httpx.get(f"{url}/tally").json()
            times["run"].append(_timed(run))
            after = httpx.get(f"{url}/tally").json()
            listings = {k: after.get(k, 0) - before.get(k, 0) for k in after}
            _fresh(tmp, "e2e")
            times["sweep"].append(_timed([*run, "--sweep-only"]))
        resumed = _timed(run)  # the finished run again: nothing to generate
    ratio = statistics.median([r / b for r, b in zip(times["run"], times["bare"], strict=True)])
    sweep_ratio = statistics.median([r / b for r, b in zip(times["sweep"], times["bare"], strict=True)])
    floor_ratio = statistics.median([r / b for r, b in zip(times["run"], times["floor"], strict=True)])
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"[fast path] instant stub, {n} items @ {conc}, fresh processes, median of {rounds} alternating rounds: "
          f"bare httpx loop from the suite's files {med['bare']:.2f} s, `llamune-eval run` (sweep, recommend, "
          f"report, leaderboard) {med['run']:.2f} s; ratio {ratio:.2f}x (goal <= 1.2x); --sweep-only "
          f"{med['sweep']:.2f} s ({sweep_ratio:.2f}x); against the floor (bodies built before timing, "
          f"{med['floor']:.2f} s) {floor_ratio:.2f}x; the finished run again {resumed:.2f} s")  # fmt: skip
    print(f"[fast path] requests per run besides the {n} answers: {listings} (goal: one model list per engine)")


def embedded(n: int = 200, slots: int = 4, ctx: int = 2048, rounds: int = 3) -> None:
    from llamune_eval.engines import bundled

    if not bundled.available(bundled.SMOLLM2):
        print("[fast path] embedded: skipped, SmolLM2 not installed")
        return
    with tempfile.TemporaryDirectory() as tmp_:
        tmp = Path(tmp_)
        lean = tmp / "lean.py"
        lean.write_text(LEAN, encoding="utf-8")
        suites = tmp / "suites"
        suite_dir = make_items(suites, n)
        engine = (f'[[engines]]\nkind = "embedded"\nmodels = ["smollm2:135m"]\nparallel = {slots}\n'
                  f"ctx_per_slot = {ctx}\nmax_concurrency = {slots}")  # fmt: skip
        cfg = _config(tmp, "emb", engine, suites)
        run = [sys.executable, "-m", "llamune_eval.cli.main", "run", "-c", str(cfg), "--no-progress"]
        bare = [sys.executable, "-c", EMBEDDED_BARE, str(suite_dir), str(slots), str(ctx), str(lean)]
        bares, ours = [], []
        for _ in range(rounds):
            bares.append(_timed(bare))
            _fresh(tmp, "emb")
            ours.append(_timed(run))
    ratio = statistics.median([r / b for r, b in zip(ours, bares, strict=True)])
    print(f"[fast path] embedded SmolLM2, {n} items on {slots} slots, fresh processes (server start included), "
          f"median of {rounds} alternating rounds: bare httpx loop {statistics.median(bares):.1f} s, `llamune-eval "
          f"run` {statistics.median(ours):.1f} s; ratio {ratio:.3f}x (goal <= 1.03x)")  # fmt: skip


def main() -> None:
    stub()
    embedded()


if __name__ == "__main__":
    main()
