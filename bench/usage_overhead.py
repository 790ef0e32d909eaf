"""Ingest and aggregate 5,000,000 synthetic usage events: the DuckDB path (our `usage ingest` + UsageMetrics)
vs the same aggregation in pandas, each in its own process so that wall time and peak memory are its own."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

N = 5_000_000

MAKE = """
import sys
from llamune_eval.store import connect
con = connect()
con.execute(f'''COPY (SELECT 'e' || i AS event_id, 's' || (i // 20) AS session_id, i AS message_id, (i % 20) AS turn,
  CASE WHEN i % 10 = 0 THEN 'background' WHEN i % 37 = 0 THEN 'retry' ELSE 'main' END AS kind,
  'model-' || (i % 7) AS model, 'general' AS preset, 0.2 + (i % 13) / 10.0 AS ttft_s, 1.0 + (i % 17) / 5.0 AS latency_s,
  40 AS prompt_tokens, 100 + i % 50 AS completion_tokens, (i % 23 <> 0) AS success,
  CASE WHEN i % 37 = 0 THEN (i % 2 = 0) END AS adopted,
  CASE WHEN i % 11 = 0 THEN 1 WHEN i % 29 = 0 THEN -1 END AS rating,
  CASE WHEN i % 101 = 0 THEN 'comment ' || i END AS comment,
  ['coding', 'reasoning', 'documentation'][1 + i % 3] AS category,
  TIMESTAMP '2026-01-01' + INTERVAL (i % 7776000) SECOND AS created_at
  FROM range({sys.argv[2]}) t(i)) TO '{sys.argv[1]}' (FORMAT json)''')
"""

DUCK = """
import sys, time
from pathlib import Path
from llamune_eval.store.results import Store
from llamune_eval.usage import ingest, usage_metrics
start = time.perf_counter()
with Store(Path(sys.argv[2])) as store:
    ingest(store, [Path(sys.argv[1])])
    usage_metrics(store)
import resource
print(time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""

PANDAS = """
import sys, time
import pandas as pd
start = time.perf_counter()
df = pd.read_json(sys.argv[1], lines=True)
answers = df[df.kind.isin(['main', 'background', 'retry'])]
answers.assign(ok=answers.success.astype(int)).groupby('model').agg(
    count=('event_id', 'size'), avg_latency=('latency_s', 'mean'), success=('ok', 'mean'), rating=('rating', 'mean'))
answers.groupby(['category', 'model']).agg(count=('event_id', 'size'), latency=('latency_s', 'mean'))
up, down = (df.rating > 0).sum(), (df.rating < 0).sum()
comments = df.comment.dropna().tolist()
df[df.kind == 'retry'].groupby(['model', 'preset']).adopted.agg(['size', 'sum'])
import resource
print(time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def _run(code: str, *args: str) -> tuple[float, float]:
    """Seconds and peak RSS in MB, both reported by the child itself (its own process, DuckDB's memory included)."""
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=True).stdout
    seconds, peak_kb = out.strip().splitlines()[-1].split()
    return float(seconds), int(peak_kb) / 1024


def main(n: int = N) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        events = Path(tmp) / "events.jsonl"
        subprocess.run([sys.executable, "-c", MAKE, str(events), str(n)], check=True)
        size = events.stat().st_size / 1e6
        duck_s, duck_mb = _run(DUCK, str(events), str(Path(tmp) / "u.duckdb"))
        pandas_s, pandas_mb = _run(PANDAS, str(events))
    print(f"[usage] {n:,} events ({size:,.0f} MB JSONL): DuckDB ingest + UsageMetrics {duck_s:.1f} s, peak RSS "
          f"{duck_mb:,.0f} MB; pandas read + the same aggregation {pandas_s:.1f} s, peak RSS {pandas_mb:,.0f} MB; "
          f"time ratio {pandas_s / duck_s:.1f}x, memory ratio {pandas_mb / duck_mb:.1f}x")  # fmt: skip


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else N)
