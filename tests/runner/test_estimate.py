"""`run --plan` on the real llama.cpp engine: before a run it probes and says what it will send; after the run the
store's history times it and nothing is left to send. The plan never creates a store."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from llamune_eval.config import Config
from llamune_eval.engines.embedded import EmbeddedServer
from llamune_eval.runner.estimate import estimate
from llamune_eval.runner.sweep import Sweep, sweep

ROOT = Path(__file__).resolve().parents[2]


def _toml(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "llamune.toml"
    path.write_text(
        f'[[engines]]\nkind = "openai"\nurl = "{url}"\nmax_concurrency = 2\n'
        f'[paths]\nstore = "{tmp_path / "r.duckdb"}"\ndata = "{tmp_path / "no-data"}"\n'
        f'[run]\nsuites_dir = "{ROOT / "suites"}"\npresets = ["fast"]\nlimit = 3\n',
        encoding="utf-8",
    )
    return path


async def test_the_plan_probes_first_then_reads_the_history(tmp_path: Path, smollm2_server: EmbeddedServer) -> None:
    assert smollm2_server.url
    from llamune_eval.config import load

    cfg: Config = load(_toml(tmp_path, smollm2_server.url))
    spec = Sweep(suites=["jcommonsenseqa", "jnli"])
    before = await estimate(cfg, spec)
    assert not (tmp_path / "r.duckdb").exists()  # the plan reads; it never makes a store
    assert {(r.suite, r.planned, r.stored, r.requests, r.source) for r in before.rows} == {
        ("jcommonsenseqa", 3, 0, 3, "probe"),
        ("jnli", 3, 0, 3, "probe"),
    }
    assert before.widths == {"smollm2:135m": 2} and before.requests == 6 and before.judge_requests == 0
    row = before.rows[0]
    assert row.latency_s is not None and row.latency_s > 0
    assert row.seconds == row.requests * row.latency_s / 2  # three requests, two at a time
    assert before.seconds == sum(r.seconds or 0 for r in before.rows) == before.engines[row.engine]
    # a time budget as requests, at the measured pace: the whole ETA buys all six, half of it three
    assert before.within(before.seconds) == 6 and before.within(before.seconds / 2) == 3

    outcome = await sweep(cfg, spec)
    with outcome.store as store:
        latencies = {
            s: statistics.median(r.latency_s for r in store.samples() if r.suite == s)
            for s in ("jcommonsenseqa", "jnli")
        }
    after = await estimate(cfg, spec)
    assert {(r.suite, r.stored, r.requests, r.source, r.seconds) for r in after.rows} == {
        ("jcommonsenseqa", 3, 0, "history", 0.0),
        ("jnli", 3, 0, "history", 0.0),
    }
    assert {r.suite: r.latency_s for r in after.rows} == latencies
    assert after.seconds == 0.0
    assert after.within(1.0) == 6  # what is stored costs no time


def _plan(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "llamune_eval.cli.main", "run", "--plan", "-c", str(config), *args]
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)


def test_run_plan_prints_json_and_sends_no_answer(tmp_path: Path, smollm2_server: EmbeddedServer) -> None:
    assert smollm2_server.url
    config = _toml(tmp_path, smollm2_server.url)
    proc = _plan(config, "--json", "-s", "jsts")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert [(r["suite"], r["preset"], r["planned"], r["requests"]) for r in data["rows"]] == [("jsts", "fast", 3, 3)]
    assert data["requests"] == 3 and data["rows"][0]["source"] == "probe" and data["seconds"] > 0
    assert data["budget"] is None
    assert not (tmp_path / "r.duckdb").exists()
    table = _plan(config, "-s", "jsts", "--budget", "2")
    assert "3 requests to send" in table.stdout and "smollm2:135m 2" in table.stdout
    assert "budget 2: 2 of the plan's 3 requests (67%)" in table.stdout
    bad = _plan(config, "--budget", "6x")
    assert bad.returncode == 1 and bad.stderr.strip().splitlines() == [
        "error: --budget '6x': give a request count (20000) or a time (6h, 90m, 1h30m)"
    ]
