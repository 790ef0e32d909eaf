"""The report over 50,000 stored samples (4 models x 3 presets x 6 suites, judged answers included): wall time of
`llamune-eval report` as a fresh process, and the size of the HTML. Goals: under 10 s and under 15 MB.

Baseline, measured in the same run: a fresh process that only reads every current sample (texts whole) and its
scores out of the same store through the store's own readers, the least any report over all the samples must do.

Then the template's bytecode cache: a fresh process rendering a small quarter's report.json with an empty cache
folder (it compiles the template and writes the cache) against one with a warm cache (it loads the compiled code),
each timed inside the process, render only; the baseline is the same process's import of the renderer and its
JSON read, measured in the same runs."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

N = 50_000
GOAL_S, GOAL_MB = 10.0, 15.0

READ_ALL = """
import sys
from llamune_eval.store.results import Store
from llamune_eval.store.selection import current_samples, scores_of
with Store(sys.argv[1]) as store:
    scores_of(store, [r.key for r in current_samples(store, texts=True)])
"""


RENDER = """
import json, sys, time
start = time.perf_counter()
from llamune_eval.report.render import render_html
data = json.loads(open(sys.argv[1], encoding="utf-8").read())
ready = time.perf_counter()
render_html(data)
print(ready - start, time.perf_counter() - ready)
"""
TEMPLATE_RUNS = 5


def _timed(args: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    proc = subprocess.run(args, cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"failed: {' '.join(args)}\n{proc.stderr}")
    return time.perf_counter() - start


def _render_times(data: Path, cache: Path) -> tuple[float, float]:
    """(import and JSON read, render) seconds of one fresh process whose cache folder is `cache`."""
    env = {**os.environ, "LLAMUNE_CACHE": str(cache)}
    proc = subprocess.run([sys.executable, "-c", RENDER, str(data)], capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise SystemExit(f"render failed:\n{proc.stderr}")
    ready, render = proc.stdout.split()
    return float(ready), float(render)


def template_cache(root: Path) -> None:
    """Cold (empty cache: compile and write) against warm (load the compiled template), fresh processes each."""
    from fixtures.synth import synthesize

    store = root / "small.duckdb"
    synthesize(store, 1200)
    cli = [sys.executable, "-m", "llamune_eval.cli.main", "report", "--quarter", "2026-Q4", "--store", str(store),
           "--format", "json", "--out", str(root / "small")]  # fmt: skip
    _timed(cli, root)
    data = root / "small" / "report.json"
    cold = [_render_times(data, root / f"cold{i}") for i in range(TEMPLATE_RUNS)]
    _render_times(data, root / "warm")  # fills the cache
    warm = [_render_times(data, root / "warm") for _ in range(TEMPLATE_RUNS)]
    base = statistics.median(r for r, _ in cold + warm)
    cold_s, warm_s = statistics.median(t for _, t in cold), statistics.median(t for _, t in warm)
    print(f"report template, fresh process, median of {TEMPLATE_RUNS} (render only; small quarter):")
    print(f"  baseline (import the renderer, read report.json):       {base * 1000:.0f} ms")
    print(f"  render, cold cache (compile + write):                   {cold_s * 1000:.0f} ms  "
          f"ratio {cold_s / base:.2f}  [{', '.join(f'{t * 1000:.0f}' for _, t in cold)}]")  # fmt: skip
    print(f"  render, warm cache (load compiled):                     {warm_s * 1000:.0f} ms  "
          f"ratio {warm_s / base:.2f}  [{', '.join(f'{t * 1000:.0f}' for _, t in warm)}]")  # fmt: skip
    print(f"  saved per process: {(cold_s - warm_s) * 1000:.0f} ms (warm/cold {warm_s / cold_s:.2f})")


def main() -> None:
    from fixtures.synth import synthesize

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        store = root / "llamune.duckdb"
        made = synthesize(store, N)
        baseline = min(_timed([sys.executable, "-c", READ_ALL, str(store)], root) for _ in range(2))
        cli = [sys.executable, "-m", "llamune_eval.cli.main", "report", "--quarter", "2026-Q4", "--store", str(store)]
        runs = [_timed(cli, root) for _ in range(2)]
        html = root / "reports" / "2026-Q4" / "index.html"
        data = root / "reports" / "2026-Q4" / "report.json"
        size_mb, json_mb = html.stat().st_size / 1e6, data.stat().st_size / 1e6
    best = min(runs)
    print(f"report over {made['samples']:,} samples ({len(made['models'])} models x {len(made['presets'])} presets)")
    print(f"  baseline (fresh process reading every sample and score): {baseline:.2f} s")
    print(f"  llamune-eval report (fresh process, best of 2):          {best:.2f} s  ratio {best / baseline:.2f}  "
          f"goal < {GOAL_S:.0f} s: {'met' if best < GOAL_S else 'MISSED'}")  # fmt: skip
    print(f"  index.html {size_mb:.1f} MB (goal < {GOAL_MB:.0f} MB: {'met' if size_mb < GOAL_MB else 'MISSED'}), "
          f"report.json {json_mb:.1f} MB")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        template_cache(Path(tmp))


if __name__ == "__main__":
    main()
