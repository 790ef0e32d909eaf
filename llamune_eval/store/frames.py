"""The store's tables as pandas DataFrames for `llamune_eval.frames` (notebooks), and the read-only store they
are read from.

Why read-only: a notebook inspects the operator's store and must never change its data, nor hold its write lock
while a run wants it. One exception, the one every command makes: a store a crash left with a journal, or an
older version's store, is first opened once for writing to recover its rows and add its columns, then read.
Why DuckDB's `.df()`: the columns arrive typed and vectorised, with no Python per row.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llamune_eval.store._duckdb import connect
from llamune_eval.store.results import Store, StoreError, store_files
from llamune_eval.store.schema import SAMPLE_COLUMNS, TABLES
from llamune_eval.store.selection import CURRENT
from llamune_eval.store.texts import VIEW
from llamune_eval.store.usage import quarter_of

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

TURNS = ("prompt", "output")  # JSON lists of turns, given to pandas as lists of strings
SAMPLE_ORDER = "ORDER BY suite, model, preset, item_id, repeat, created_at"
SAME = "($suite IS NULL OR suite = $suite) AND ($model IS NULL OR model = $model)"  # the filters, None: all


class ReadOnlyStore(Store):
    """An existing store opened read-only; `Evidence.load` and the frames below read it like any `Store`, and a
    write raises DuckDB's error. A store a crash left with a journal, or an older version's store, is first opened
    as every command opens it (recovered, its columns added), since a read-only connection could not see those
    rows or columns. A missing file raises `StoreError` and nothing is created."""

    def __init__(self, path: str | Path) -> None:  # not Store.__init__: that creates, migrates and recovers
        self.path = Path(path)
        if not self.path.is_file():
            raise StoreError(f"{self.path}: no results store there (run `llamune-eval run` first)")
        _, _, self.journal, self.judgement_journal = store_files(self.path)
        self.stored_texts: set[str] = set()
        self.con = self._connect()
        if self.journal.exists() or self.judgement_journal.exists() or not _up_to_date(self.con):
            self.con.close()
            Store(self.path).close()
            self.con = self._connect()
        self.con.execute(VIEW)  # a temporary view: allowed on a read-only connection

    def _connect(self) -> duckdb.DuckDBPyConnection:
        import duckdb

        try:
            return connect(self.path, read_only=True)
        except duckdb.Error as exc:  # a run holding the write lock, a damaged file
            raise StoreError(f"{self.path}: cannot read the store: {str(exc).splitlines()[0][:200]}") from exc


def _up_to_date(con: duckdb.DuckDBPyConnection) -> bool:
    have = {
        (t, c)
        for t, c in con.execute(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'main'"
        ).fetchall()
    }
    return all((t.name, c) in have for t in TABLES for c in t.columns)


def _samples(current: bool, source: str) -> str:
    """Samples of `source` with their run's quarter: every one (of runs made for `$quarter` when given), or with
    `current` the quarter's evidence as the leaderboard selects it."""
    if current:
        inner = f"({CURRENT.format(columns=', '.join(SAMPLE_COLUMNS), source=source)})"
        where = ""  # the selection reads `$quarter` itself
    else:
        inner, where = source, "WHERE $quarter IS NULL OR r.quarter = $quarter"
    return f"SELECT s.*, r.quarter FROM {inner} s LEFT JOIN runs r ON r.run_id = s.run_id {where}"


def _turns(column: str) -> str:
    """SQL: a JSON list of turns as a list of strings (a bare JSON value as a list of one)."""
    return (
        f"CASE WHEN json_type({column}) = 'ARRAY' THEN json_extract_string({column}, '$[*]') "
        f"WHEN {column} IS NOT NULL THEN [json_extract_string({column}, '$')] END"
    )


def _filters(suite: str | None, model: str | None, quarter: str | None) -> dict[str, Any]:
    return {"suite": suite, "model": model, "quarter": quarter}


def samples(store: Store, *, quarter: str | None, suite: str | None, model: str | None, current: bool) -> pd.DataFrame:
    """Every sample column, texts whole (`prompt`, `output` as lists of turns), and the run's `quarter`."""
    turns = ", ".join(f"{_turns(c)} AS {c}" for c in TURNS)
    sql = f"SELECT * REPLACE ({turns}) FROM ({_samples(current, 'samples_full')}) WHERE {SAME} {SAMPLE_ORDER}"
    df = store.con.execute(sql, _filters(suite, model, quarter)).df()
    for column in TURNS:  # DuckDB hands lists over as numpy arrays: lists print and serialise as expected
        df[column] = df[column].map(lambda v: list(v) if isinstance(v, Iterable) else None)
    return df


def scores(store: Store, *, quarter: str | None, suite: str | None, model: str | None, current: bool) -> pd.DataFrame:
    """Long form: one row per sample and metric, with what the sample was (suite, model, preset, item, repeat)."""
    sql = (
        "SELECT c.key, s.quarter, s.suite, s.model, s.preset, s.item_id, s.repeat, s.status, c.metric, c.value "
        f"FROM scores c JOIN ({_samples(current, 'samples')}) s ON s.key = c.key WHERE {SAME} "
        "ORDER BY s.suite, s.model, s.preset, s.item_id, s.repeat, c.key, c.metric"
    )
    return store.con.execute(sql, _filters(suite, model, quarter)).df()


def judgements(store: Store, *, quarter: str | None, suite: str | None, model: str | None) -> pd.DataFrame:
    """Every verdict (failed requests included, `error_kind` set), with the quarter of the judged sample's run;
    `model` matches either side of a pairwise verdict."""
    sql = (
        "SELECT j.*, r.quarter FROM judgements j LEFT JOIN samples s ON s.key = j.sample_key "
        "LEFT JOIN runs r ON r.run_id = s.run_id "
        "WHERE ($quarter IS NULL OR r.quarter = $quarter) AND ($suite IS NULL OR j.suite = $suite) "
        "AND ($model IS NULL OR $model IN (j.model, j.model_b)) "
        "ORDER BY j.suite, j.model, j.preset, j.item_id, j.repeat, j.turn, j.judge_model, j.trial, j.created_at"
    )
    return store.con.execute(sql, _filters(suite, model, quarter)).df()


def usage_events(store: Store, *, quarter: str | None, model: str | None) -> pd.DataFrame:
    """Every ingested usage event, with the quarter of its `created_at` (the period the usage metrics use)."""
    sql = (
        f"SELECT *, {quarter_of()} AS quarter FROM usage_events WHERE ($quarter IS NULL OR {quarter_of()} = $quarter) "
        "AND ($model IS NULL OR model = $model) ORDER BY created_at, event_id"
    )
    return store.con.execute(sql, {"quarter": quarter, "model": model}).df()
