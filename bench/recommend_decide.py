"""`llamune-eval recommend` over 50,000 stored samples (4 models x 3 presets x 6 suites, judged answers and usage
events included), as a fresh process: the whole decision (evidence, intervals, paired tests, usage signals, power
figures, schema validation, sealing). Goal: under 2 s.

Baseline, measured in the same run: a fresh process that only reads every sample and score out of the same store,
the least a decision over all the samples must do."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from bench.report_render import READ_ALL, _timed

N = 50_000
GOAL_S = 2.0


def _usage(root: Path, models: list[str]) -> Path:
    """Chat usage of the quarter before: every model answered and rated, some /retry decisions."""
    path = root / "events.jsonl"
    with path.open("w", encoding="utf-8") as f:
        for i in range(20_000):
            model = models[i % len(models)]
            f.write(json.dumps({"event_id": f"e{i}", "session_id": f"s{i // 40}", "turn": i // 2,
                                "kind": "main", "model": model, "preset": "settings", "success": i % 17 != 0,
                                "latency_s": 1.0, "rating": (1 if i % 3 else -1) if i % 5 == 0 else None,
                                "category": ("coding", "general", "reasoning")[i % 3],
                                "created_at": "2026-08-01T10:00:00"}) + "\n")  # fmt: skip
    return path


def main() -> None:
    from fixtures.synth import synthesize

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        store = root / "llamune.duckdb"
        made = synthesize(store, N)
        cli = [sys.executable, "-m", "llamune_eval.cli.main"]
        _timed([*cli, "usage", "ingest", str(_usage(root, made["models"])), "--store", str(store)], root)
        baseline = min(_timed([sys.executable, "-c", READ_ALL, str(store)], root) for _ in range(2))
        runs = []
        for _ in range(3):
            for old in (root / "recommended").glob("2026-Q4*.json"):
                old.unlink()  # each run decides afresh (a published quarter is never rewritten)
            runs.append(_timed([*cli, "recommend", "--quarter", "2026-Q4", "--store", str(store), "--json"], root))
    best = min(runs)
    print(f"recommend over {made['samples']:,} samples ({len(made['models'])} models x {len(made['presets'])} presets)"
          ", 20,000 usage events")  # fmt: skip
    print(f"  baseline (fresh process reading every sample and score): {baseline:.2f} s")
    print(f"  llamune-eval recommend (fresh process, best of 3):       {best:.2f} s  ratio {best / baseline:.2f}  "
          f"goal < {GOAL_S:.0f} s: {'met' if best < GOAL_S else 'MISSED'}")  # fmt: skip


if __name__ == "__main__":
    main()
