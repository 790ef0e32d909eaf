"""The report over 50,000 stored samples (4 models x 3 presets x 6 suites, judged answers included): wall time of
`llamune-eval report` as a fresh process, and the size of the HTML. Goals: under 10 s and under 15 MB.

Baseline, measured in the same run: a fresh process that only reads every current sample (texts whole) and its
scores out of the same store through the store's own readers, the least any report over all the samples must do."""

from __future__ import annotations

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


def _timed(args: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    proc = subprocess.run(args, cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"failed: {' '.join(args)}\n{proc.stderr}")
    return time.perf_counter() - start


def main() -> None:
    from bench._synth import synthesize

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


if __name__ == "__main__":
    main()
