"""What measuring costs: the measure stage (every configuration's memory and timed probes) and the contention check,
as a share of the default quarter (`nox -s main`: `llamune-eval run --limit 2`, the bundled pair, the sample suites,
the demo judge). Both run in the same session on the same machine: the quarter with `[measure] enabled = false`,
then `llamune-eval measure` on its store (goal <= 10% of quarter + measure)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QUARTER = "2027-Q1"


def _cli(folder: Path, *args: str, measure: bool) -> float:
    env = {**os.environ, "LLAMUNE_JUDGE__MODELS": '["qwen2.5-coder:0.5b"]', "HF_HUB_OFFLINE": "1",
           "LLAMUNE_MEASURE__ENABLED": "true" if measure else "false",
           "LLAMUNE_CHAT_DB": str(folder / "none.sqlite")}  # fmt: skip
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "llamune_eval.cli.main", *args], cwd=folder, env=env,
                          capture_output=True, text=True)  # fmt: skip
    took = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed: {proc.stderr[-2000:]}")
    return took


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "suites").symlink_to(ROOT / "suites")
        quarter = _cli(folder, "run", "--limit", "2", "--quarter", QUARTER, "--no-progress", measure=False)
        measured = _cli(folder, "measure", "--quarter", QUARTER, "--json", measure=True)
        share = measured / (quarter + measured)
        import duckdb

        con = duckdb.connect(str(folder / "llamune.duckdb"), read_only=True)
        spans = dict(con.execute("SELECT purpose, count(*) FROM timings GROUP BY 1").fetchall())
        con.close()
    print(
        json.dumps(
            {
                "bench": "measure",
                "quarter_s": round(quarter, 1),
                "measure_and_contention_s": round(measured, 1),
                "share": round(share, 3),
                "probes": spans,
                "goal": "share <= 0.10",
            }
        )
    )
    print(f"measure + contention check: {measured:.1f} s = {share:.1%} of the default quarter ({quarter:.1f} s + it)")
