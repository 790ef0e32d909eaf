"""What checking the judge against people costs.

1. The agreement figures of one judge on n rated answers (Spearman, Kendall tau-b, weighted kappa, pairwise
   agreement, the residual's correlation and slope against length, self-preference), each with its BCa interval
   over 2,000 resamples: `scoring.agreement.agreement`, against the baseline measured in the same run, the
   textbook loop: 2,000 resamples drawn with numpy, each figure computed by scipy on the resampled answers
   (percentile intervals only: no jackknife, no BCa). The baseline imports nothing of llamune_eval.
2. `Evidence.for_quarter` over a 50,000-sample store with 300 rated answers of its judged suites, against the same
   call with no rating (the check then computes nothing). Printed: the seconds the check adds to every decision
   and report.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import textwrap
from datetime import datetime
from pathlib import Path

from bench.runner_overhead import ROOT

BASELINE = textwrap.dedent(
    """
    import sys, time
    import numpy as np
    from scipy import stats

    n = int(sys.argv[1])
    rng = np.random.default_rng(0)
    people = rng.integers(1, 11, n).astype(float)
    chars = rng.integers(100, 2000, n).astype(float)
    judge = people + rng.normal(0, 1.5, n) + chars / 1000
    own = rng.random(n) < 0.3
    resid = (judge - people) / 9
    start = time.perf_counter()
    for _ in range(2000):
        i = rng.integers(0, n, n)
        j, p, c, r, o = judge[i], people[i], chars[i], resid[i], own[i]
        stats.spearmanr(j, p); stats.kendalltau(j, p)
        a, b = np.clip(np.floor(j + 0.5), 1, 10), p
        1 - ((a - b) ** 2).sum() / ((a ** 2).sum() + (b ** 2).sum() - 2 * a.sum() * b.sum() / n)
        stats.spearmanr(r, c); stats.linregress(c, r); r[o].mean() - r[~o].mean()
    print(time.perf_counter() - start)
    """
)

OURS = textwrap.dedent(
    """
    import sys, time
    import numpy as np
    from llamune_eval.scoring.agreement import Rated, agreement

    n = int(sys.argv[1])
    rng = np.random.default_rng(0)
    people = rng.integers(1, 11, n).astype(float)
    chars = rng.integers(100, 2000, n)
    judge = people + rng.normal(0, 1.5, n) + chars / 1000
    own = rng.random(n) < 0.3
    rated = [Rated(float(j), float(p), 10, int(c), bool(o), f"i{k // 3}")
             for k, (j, p, c, o) in enumerate(zip(judge, people, chars, own))]
    start = time.perf_counter()
    agreement(rated, alpha=0.05, seed=0)
    print(time.perf_counter() - start)
    """
)

EVIDENCE = textwrap.dedent(
    """
    import sys, time
    from llamune_eval.analysis import Evidence
    from llamune_eval.config import Config
    from llamune_eval.store.results import Store

    cfg = Config.model_validate({"paths": {"store": sys.argv[1]}})
    with Store(sys.argv[1]) as store:
        start = time.perf_counter()
        ev = Evidence.for_quarter(store, cfg, "2026-Q4")
        took = time.perf_counter() - start
    print(took, ev.judge.evidence.rated_answers if ev.judge else 0)
    """
)


def _seconds(script: str, *args: str) -> list[str]:
    done = subprocess.run([sys.executable, "-c", script, *args], cwd=ROOT, capture_output=True, text=True, check=True)
    return done.stdout.split()


def _rate(store: Path, n: int) -> None:
    """People's ratings of `n` judged answers: the judge's score give or take a point."""
    from llamune_eval.records import HumanRating, rating_key
    from llamune_eval.store import ratings
    from llamune_eval.store.results import Store
    from llamune_eval.store.selection import judge_verdicts

    with Store(store) as st:
        suites = dict(st.con.execute("SELECT key, suite FROM samples").fetchall())
        rows = [
            HumanRating(
                key=rating_key("bench", v.sample_key),
                sample_key=v.sample_key,
                suite=suites[v.sample_key],
                item_id="x",
                rater="bench",
                score=max(1, min(10, round(v.overall) + k % 3 - 1)),
                scale=10,
                created_at=datetime(2026, 11, 2),
            )
            for k, v in enumerate(judge_verdicts(st)[:n])
        ]
        ratings.save(st, rows)


def main() -> None:
    from fixtures.synth import synthesize

    for n in (100, 300):
        base = [float(_seconds(BASELINE, str(n))[0]) for _ in range(3)]
        ours = [float(_seconds(OURS, str(n))[0]) for _ in range(3)]
        b, o = statistics.median(base), statistics.median(ours)
        print(f"[judge check] agreement figures of {n} rated answers, 2,000 resamples: scipy loop (percentile "
              f"intervals) {b:.2f} s, ours (BCa, jackknife included) {o:.2f} s; ratio {o / b:.2f}x")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "s.duckdb"
        synthesize(store, 50_000)
        without = [float(_seconds(EVIDENCE, str(store))[0]) for _ in range(3)]
        _rate(store, 300)
        runs = [_seconds(EVIDENCE, str(store)) for _ in range(3)]
        rated = int(runs[0][1])
        with_ = [float(r[0]) for r in runs]
    w, wo = statistics.median(with_), statistics.median(without)
    print(f"[judge check] Evidence.for_quarter over 50,000 samples: no rating {wo:.2f} s, {rated} rated answers "
          f"{w:.2f} s; the check adds {w - wo:.2f} s ({w / wo:.2f}x)")  # fmt: skip


if __name__ == "__main__":
    main()
