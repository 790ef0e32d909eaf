"""SIGKILL on the real engine, in every test run: a quarter on the embedded engine killed in its sweep, its judge
stage and its report, then resumed. Nothing is lost, duplicated or generated twice, and the settings and report
equal those computed from a never-killed store with the same samples (`nox -s soak` kills 20 times)."""

from __future__ import annotations

import random
from pathlib import Path

from llamune_eval.engines import bundled
from tests.soak.checks import verdict
from tests.soak.killing import attempt, kill_at, make_quarter


def test_sigkill_in_sweep_judge_and_report_then_resume(tmp_path: Path, smollm2_path: Path) -> None:
    folder = tmp_path / "quarter"
    folder.mkdir()
    name = bundled.SMOLLM2.name
    args = make_quarter(folder, [name], judge=name, presets=["fast"], limit=2)
    rng = random.Random(7)
    attempts, snapshots = kill_at(folder, args, [("sweep", 1.5), ("judge", 1.0), ("report", 0.3)], rng)
    final = attempt(folder, args, None, rng, 0)
    found = verdict(folder, attempts, snapshots, final, tmp_path)
    assert found.kills >= 2 and found.samples == 6 and found.judgements == 2
