"""Ratings in and out of a store: an export imports into another store as it was, the older sample_key,rating CSV
still reads, and a bad row is one line naming the file and the row, with nothing imported and the file as it was."""

from __future__ import annotations

import csv
import shutil
from datetime import datetime
from pathlib import Path

import pytest

from fixtures.synth import synthesize
from llamune_eval.rating import transfer
from llamune_eval.records import HumanRating, rating_key
from llamune_eval.store import ratings
from llamune_eval.store.results import Store
from llamune_eval.types import InputError


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("transfer") / "s.duckdb"
    synthesize(path, 200)
    return path


def _keys(path: Path, n: int) -> list[tuple[str, str, str]]:
    with Store(path) as store:
        return store.con.execute(f"SELECT key, suite, item_id FROM samples ORDER BY key LIMIT {n}").fetchall()


def test_an_export_imports_into_another_store_as_it_was(base: Path, tmp_path: Path) -> None:
    one, two = tmp_path / "one.duckdb", tmp_path / "two.duckdb"
    shutil.copy(base, one)
    shutil.copy(base, two)
    given = [
        HumanRating(
            key=rating_key(rater, k),
            sample_key=k,
            suite=s,
            item_id=i,
            rater=rater,
            accuracy=4,
            naturalness=None,
            usefulness=2,
            score=7,
            scale=10,
            shared=rater == "ann",
            source="terminal",
            created_at=datetime(2026, 12, 1, 9, 30, 15, 123456),
        )
        for k, s, i in _keys(one, 5)
        for rater in ("ann", "ben")
    ]
    with Store(one) as store:
        ratings.save(store, given)
        exported = ratings.ratings(store)
    out = tmp_path / "ratings.csv"
    transfer.export(exported, out)
    with Store(two) as store:
        got = transfer.read(out, store)
        assert got.unknown == 0
        ratings.save(store, got.ratings)
        ratings.save(store, transfer.read(out, store).ratings)  # twice: replaced, not duplicated
        assert ratings.ratings(store) == exported
    assert len(exported) == 10


def test_the_older_csv_reads_as_one_rater_on_five_levels(base: Path, tmp_path: Path) -> None:
    keys = _keys(base, 3)
    path = tmp_path / "people.csv"
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["sample_key", "rating"])
        w.writerows([[k, 1 + n] for n, (k, _, _) in enumerate(keys)] + [["not-a-sample", 5]])
    with Store(base) as store:
        got = transfer.read(path, store)
    assert got.unknown == 1
    assert [(r.sample_key, r.score, r.scale, r.rater, r.suite) for r in got.ratings] == [
        (k, 1 + n, 5, "csv:people.csv", s) for n, (k, s, _) in enumerate(keys)]  # fmt: skip


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([["sample_key", "rating"], ["{k}", "7"]], "people.csv:2: rating 7 is not 1-5"),
        ([["sample_key", "rating"], ["{k}", "good"]], "people.csv:2: invalid literal for int()"),
        ([["key", "score"], ["{k}", "3"]], "people.csv: expected the columns sample_key,rating (1-5)"),
    ],
)
def test_a_bad_row_is_one_line_and_nothing_changes(base: Path, tmp_path: Path, rows: list[list[str]],
                                                    message: str) -> None:  # fmt: skip
    key = _keys(base, 1)[0][0]
    path = tmp_path / "people.csv"
    with path.open("w", newline="") as f:
        csv.writer(f).writerows([[c.format(k=key) for c in r] for r in rows])
    before = path.read_bytes()
    with Store(base) as store, pytest.raises(InputError) as caught:
        transfer.read(path, store)
    assert message in str(caught.value) and "\n" not in str(caught.value)
    assert path.read_bytes() == before
