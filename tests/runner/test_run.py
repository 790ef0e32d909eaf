"""The run pipeline: real generation on the embedded engine, resume without repeats, and a SIGKILL mid-run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from llamune_eval.analysis import Evidence, leaderboard
from llamune_eval.config import Config
from llamune_eval.runner.sweep import Sweep, sweep
from llamune_eval.store.results import Store
from llamune_eval.store.selection import scores_of
from tests.stubs.faults import FaultServer

ROOT = Path(__file__).resolve().parents[2]


def _config(tmp_path: Path, engines: list[dict], **run: object) -> Config:
    return Config.model_validate({
        "engines": engines, "paths": {"store": str(tmp_path / "r.duckdb")},
        "run": {"suites_dir": str(ROOT / "suites"), **run},
    })  # fmt: skip


async def test_run_on_the_embedded_engine_stores_and_scores(tmp_path: Path, smollm2_path: Path) -> None:
    engines = [{"kind": "embedded", "models": [{"name": "smol", "path": str(smollm2_path)}], "parallel": 4,
                "ctx_per_slot": 2048}]  # fmt: skip
    cfg = _config(tmp_path, engines, presets=["fast"])
    spec = Sweep(suites=["extraction", "jcommonsenseqa"], limit=3)
    outcome = await sweep(cfg, spec)
    with outcome.store as store:
        rows = store.samples()
        assert len(rows) == 6 and outcome.planned == 6 and outcome.skipped == 0
        assert all(r.status == "ok" and r.model == "smol" and r.engine == "embedded" for r in rows)
        assert all(r.completion_tokens and r.latency_s > 0 and r.tokens_per_s for r in rows)
        params = json.loads(rows[0].params)
        assert params["temperature"] == 0.0 and params["seed"] == 0
        jcqa = [r for r in rows if r.suite == "jcommonsenseqa"]
        assert len(jcqa) == 3
        assert all(json.loads(r.params)["max_tokens"] == 8 for r in jcqa)  # the suite caps the request
        assert all(json.loads(r.preset_params)["max_tokens"] == 256 for r in rows)  # not the configuration
        scores = scores_of(store, [r.key for r in rows])
        assert all("correct" in scores[r.key] for r in jcqa)
        board = leaderboard(Evidence.load(store, keys=outcome.keys))
        assert {(b.suite, b.metric) for b in board} == {("extraction", "pass_rate"), ("jcommonsenseqa", "accuracy")}
        assert all(b.n == 3 for b in board)
    again = await sweep(cfg, spec)  # everything is stored: nothing is generated again
    with again.store as store:
        assert again.skipped == 6 and again.stats.done == 0
        assert len(store.samples()) == 6
        assert [r["status"] for r in store.runs()] == ["finished", "finished"]


async def test_failed_samples_are_stored_with_their_error_and_retried_next_time(tmp_path: Path) -> None:
    with FaultServer(["404"] * 2) as srv:
        engines = [{"kind": "openai", "url": srv.url, "max_concurrency": 1}]
        cfg = _config(tmp_path, engines, presets=["fast"])
        spec = Sweep(suites=["jsts"], limit=3)
        first = await sweep(cfg, spec)
        with first.store as store:
            errors = [r for r in store.samples() if r.status == "error"]
            assert len(errors) == 2 and errors[0].error_kind == "not_found"
            assert first.errors == 2
        second = await sweep(cfg, spec)
        with second.store as store:
            assert second.skipped == 1 and second.stats.done == 2
            assert [r.status for r in store.samples()] == ["ok"] * 3  # replaced, not duplicated


RUN = [sys.executable, "-m", "llamune_eval.cli.main", "run", "--no-progress"]


def _start_run(tmp_path: Path, srv: FaultServer, concurrency: int, presets: str, after: int) -> subprocess.Popen[str]:
    """`llamune-eval run` in its own process against the stub, returned once `after` answers were served."""
    (tmp_path / "llamune.toml").write_text(
        f'[[engines]]\nkind = "openai"\nurl = "{srv.url}"\nmax_concurrency = {concurrency}\n'
        f'[paths]\nstore = "r.duckdb"\n[run]\nsuites_dir = "{ROOT / "suites"}"\npresets = [{presets}]\n'
    )
    proc = subprocess.Popen(RUN, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        srv.wait_chats(after)
    except TimeoutError:
        proc.kill()
        raise AssertionError(f"the run never reached {after} answers: {proc.communicate()[1][-2000:]}") from None
    return proc


def test_sigkill_mid_run_then_resume_gives_every_sample_exactly_once(tmp_path: Path) -> None:
    with FaultServer(delay_s=0.05) as srv:
        proc = _start_run(tmp_path, srv, 4, '"fast", "code"', after=60)
        os.kill(proc.pid, signal.SIGKILL)  # no cleanup, no final commit
        proc.wait(10)
        served_before = srv.chats
        done = subprocess.run(RUN, cwd=tmp_path, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
    planned = int(done.stderr.split(" samples planned")[0].rsplit(" ", 1)[1])
    skipped = int(done.stderr.split(" already stored")[0].rsplit(" ", 1)[1])
    assert planned == 2 * 143
    assert 0 < skipped < planned, "the second run must resume, not start over"
    # one request per regenerated sample, two for the two-turn business-writing items (2 items x 2 presets)
    assert planned - skipped <= srv.chats - served_before <= planned - skipped + 4
    with Store(tmp_path / "r.duckdb") as store:
        rows = store.samples()
        identity = [(r.suite, r.item_id, r.model, r.preset, r.repeat) for r in rows]
        assert len(rows) == planned and len(set(identity)) == planned
        assert all(r.status == "ok" for r in rows)
        runs = store.runs()
        assert [r["status"] for r in runs] == ["interrupted", "finished"]  # the killed run is marked as such
        assert all(r["quarter"] for r in runs)  # each run records the quarter it was for


@pytest.mark.parametrize("bad", ["--suite=nope", "--preset=nope", "--model=nope"])
def test_bad_selection_is_one_line(tmp_path: Path, bad: str) -> None:
    with FaultServer() as srv:
        (tmp_path / "llamune.toml").write_text(
            f'[[engines]]\nkind = "openai"\nurl = "{srv.url}"\n[run]\nsuites_dir = "{ROOT / "suites"}"\n'
        )
        proc = subprocess.run([sys.executable, "-m", "llamune_eval.cli.main", "run", bad], cwd=tmp_path,
                              capture_output=True, text=True, timeout=60)  # fmt: skip
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and "nope" in lines[0]


def test_ctrl_c_stops_cleanly_and_keeps_what_finished(tmp_path: Path) -> None:
    with FaultServer(delay_s=0.05) as srv:
        proc = _start_run(tmp_path, srv, 2, '"fast"', after=20)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        served = srv.chats
    assert proc.returncode == 130
    assert err.strip().splitlines()[-1].startswith("error: interrupted") and "Traceback" not in err
    with Store(tmp_path / "r.duckdb") as store:
        rows = store.samples()
        assert 0 < len(rows) <= served
        assert [r["status"] for r in store.runs()] == ["interrupted"]


async def test_answers_scored_under_older_rules_are_rescored_without_a_request(tmp_path: Path) -> None:
    """A store from before the scoring profiles: stored answers get both profiles on the next run, and the engine
    is asked nothing."""
    with FaultServer() as srv:
        cfg = _config(tmp_path, [{"kind": "openai", "url": srv.url}], presets=["fast"])
        spec = Sweep(suites=["jcommonsenseqa"], limit=3)
        first = await sweep(cfg, spec)
        first.store.con.execute("UPDATE samples SET scoring_version = NULL, parse_ok = true, parsed = '0'")
        first.store.con.execute("DELETE FROM scores")
        first.store.close()
        chats = srv.chats
        again = await sweep(cfg, spec)
        assert srv.chats == chats and again.stats.done == 0
    with again.store as store:
        rows = store.samples()
        assert {r.scoring_version for r in rows} == {"jcqa-s2"}
        assert all(r.parse_ok is False and r.parsed is None for r in rows)  # "Hello there!" is no index
        scores = scores_of(store, [r.key for r in rows])
        assert len(rows) == 3 and set(scores) == {r.key for r in rows}  # every answer rescored, none missing
        assert all(s == {"correct": 0.0, "lenient.correct": 0.0, "lenient.parse_ok": 0.0} for s in scores.values())
