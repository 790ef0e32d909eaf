"""The kill soak (`nox -s soak`): a real-engine quarter killed with SIGKILL at 20 random moments across its
stages, then resumed to the end. Long, so the default test run skips it; `tests/runner/test_kill_real.py` runs
a three-kill version of the same checks on every test run."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from llamune_eval.engines import bundled
from tests.soak.checks import verdict
from tests.soak.killing import attempt, kill_at, make_quarter

KILLS = int(os.environ.get("LLAMUNE_SOAK_KILLS", "0"))
# the target stages of the kills, in pipeline order, and how far into each a kill may land (seconds)
PLAN = {"start": 2, "sweep": 6, "judge": 5, "measure": 3, "recommend": 3, "report": 4}
WINDOW = {"start": 4.0, "sweep": 2.0, "judge": 2.0, "measure": 8.0, "recommend": 2.0, "report": 0.4}


@pytest.mark.skipif(not KILLS, reason="the kill soak runs in `nox -s soak` (LLAMUNE_SOAK_KILLS)")
def test_kill_soak(tmp_path: Path, smollm2_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert bundled.available(bundled.QWEN_CODER)
    monkeypatch.setenv("LLAMUNE_MEASURE__ENABLED", "true")  # the measure stage and the contention check killed too
    folder = tmp_path / "quarter"
    folder.mkdir()
    models = [bundled.SMOLLM2.name, bundled.QWEN_CODER.name]
    args = make_quarter(folder, models, judge=bundled.QWEN_CODER.name, presets=["fast", "general"], limit=8)
    scale = KILLS / sum(PLAN.values())
    targets = [stage for stage, n in PLAN.items() for _ in range(max(1, round(n * scale)))]
    rng = random.Random(int(os.environ.get("LLAMUNE_SOAK_SEED", "14")))
    attempts, snapshots = kill_at(folder, args, [(t, WINDOW[t]) for t in targets], rng)
    final = attempt(folder, args, None, rng, 0)
    found = verdict(folder, attempts, snapshots, final, tmp_path)
    print("\n" + found.line())
    assert found.kills >= len(targets) * 0.9
