"""`llamune-eval rate` as an operator runs it off a terminal (lines from a pipe), on a synthetic store: ratings
stored as typed, the queue resumed, export and import between stores, and bad input as one line."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fixtures.synth import synthesize
from llamune_eval.store import ratings
from llamune_eval.store.results import Store


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("rate") / "s.duckdb"
    synthesize(path, 400)
    return path


def _rate(store: Path, *args: str, lines: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "llamune_eval.cli.main", "rate", "--store", str(store), *args],
                          input=lines, capture_output=True, text=True, timeout=120, cwd=store.parent)  # fmt: skip


def test_ratings_typed_into_a_pipe_are_stored_and_the_next_run_resumes(base: Path, tmp_path: Path) -> None:
    store = tmp_path / "s.duckdb"
    shutil.copy(base, store)
    first = _rate(store, "--n", "3", "--rater", "ann", "--overlap", "0", lines="4\n5\n3\n7\nq\n")
    assert first.returncode == 0, first.stderr
    assert "評価者 ann: 3 件（全員共通 0 件）、評価済み 0 件。" in first.stdout
    assert "中断しました。1/3 件を評価済みです。" in first.stdout
    assert "model-" not in first.stdout and "balanced" not in first.stdout  # blind
    again = _rate(store, "--n", "3", "--rater", "ann", "--overlap", "0", lines="1\n1\n1\n2\n\n\n\n9\n")
    assert again.returncode == 0, again.stderr
    assert "評価済み 1 件" in again.stdout and "3 件すべて評価しました" in again.stdout
    with Store(store) as st:
        got = ratings.ratings(st, "ann")
    assert sorted((r.score, r.accuracy) for r in got) == [(2, 1), (7, 4), (9, None)]
    assert {r.suite for r in got} <= {"business-writing", "extraction"} and {r.scale for r in got} == {10}


def test_export_and_import_between_stores(base: Path, tmp_path: Path) -> None:
    one, two = tmp_path / "one.duckdb", tmp_path / "two.duckdb"
    shutil.copy(base, one)
    shutil.copy(base, two)
    assert _rate(one, "--n", "2", "--rater", "ben", lines="1\n2\n3\n4\n5\n4\n3\n2\n").returncode == 0
    out = tmp_path / "ratings.csv"
    done = _rate(one, "--export", str(out))
    assert done.returncode == 0 and "2 ratings by 1 raters" in done.stdout
    again = _rate(one, "--export", str(out))
    assert again.returncode == 1 and "already exists" in again.stderr and "Traceback" not in again.stderr
    done = _rate(two, "--import", str(out))
    assert done.returncode == 0 and done.stdout.startswith("2 ratings imported from")
    with Store(one) as a, Store(two) as b:
        assert ratings.ratings(a) == ratings.ratings(b)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--suite", "jnli"], "error: no judged answers of suite jnli (judged suites: business-writing, extraction)"),
        (["--n", "0"], "error: Invalid value for '--n'"),
        (["--import", "missing.csv"], "missing.csv: cannot read the ratings"),
    ],
)
def test_bad_input_is_one_line(base: Path, args: list[str], message: str) -> None:
    done = _rate(base, *args)
    assert done.returncode != 0 and message in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
