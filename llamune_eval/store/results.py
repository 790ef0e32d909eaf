"""The results store: runs, samples and scores in one DuckDB file, written by one thread in small transactions.

Every sample has a key (suite version, item, model and digest, preset parameters, template version, repeat,
seed); the key is the primary key, so a sample exists once however often a run is restarted. A finished sample is
handed to the writer thread the moment it is scored and committed as soon as the writer reaches it (samples that
finish meanwhile share the transaction); a killed run loses at most that transaction, which a re-run redoes.
"""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from llamune_eval.store._duckdb import connect
from llamune_eval.types import InputError

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id VARCHAR PRIMARY KEY, started_at TIMESTAMP, finished_at TIMESTAMP, status VARCHAR,
    config JSON, suites JSON, plan JSON, samples_planned INTEGER, samples_skipped INTEGER
);
CREATE TABLE IF NOT EXISTS samples (
    key VARCHAR PRIMARY KEY, run_id VARCHAR, suite VARCHAR, suite_version VARCHAR, template_version VARCHAR,
    kind VARCHAR, category VARCHAR, item_id VARCHAR, model VARCHAR, model_digest VARCHAR, engine VARCHAR,
    endpoint VARCHAR, preset VARCHAR, params JSON, repeat INTEGER, seed BIGINT, prompt JSON, output JSON,
    finish_reason VARCHAR, prompt_tokens INTEGER, completion_tokens INTEGER, ttft_s DOUBLE, latency_s DOUBLE,
    tokens_per_s DOUBLE, attempts INTEGER, status VARCHAR, error_kind VARCHAR, error VARCHAR, unsupported JSON,
    parsed VARCHAR, parse_ok BOOLEAN, pending_judge BOOLEAN, created_at TIMESTAMP
);
CREATE TABLE IF NOT EXISTS scores (key VARCHAR, metric VARCHAR, value DOUBLE, PRIMARY KEY (key, metric));
"""
SAMPLE_COLUMNS = (
    "key", "run_id", "suite", "suite_version", "template_version", "kind", "category", "item_id", "model",
    "model_digest", "engine", "endpoint", "preset", "params", "repeat", "seed", "prompt", "output",
    "finish_reason", "prompt_tokens", "completion_tokens", "ttft_s", "latency_s", "tokens_per_s", "attempts",
    "status", "error_kind", "error", "unsupported", "parsed", "parse_ok", "pending_judge", "created_at",
)  # fmt: skip
_ROW = f"({', '.join('?' * len(SAMPLE_COLUMNS))})"
_CHUNK = 256  # rows per statement: one multi-row VALUES is ~15x cheaper per row than executemany in DuckDB


@dataclass
class SampleRecord:
    """One finished sample (or one that failed for good) and its per-sample score values."""

    row: dict[str, Any]
    scores: dict[str, float]

    def values(self) -> list[Any]:
        return [self.row.get(c) for c in SAMPLE_COLUMNS]


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Store:
    """One DuckDB file. Reads on the caller's thread; writes through `writer()` during a run."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if self.path.parent and not self.path.parent.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.con = connect(self.path)
        except Exception as exc:
            raise StoreError(f"{self.path}: cannot open the store: {str(exc).splitlines()[0]}") from exc
        self.con.execute(SCHEMA)

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # runs
    def begin_run(self, run_id: str, config: Any, suites: Any, plan: Any, planned: int, skipped: int) -> None:
        self.con.execute(
            "INSERT INTO runs VALUES (?, ?, NULL, 'running', ?, ?, ?, ?, ?)",
            [run_id, now(), json.dumps(config, default=str), json.dumps(suites, default=str),
             json.dumps(plan, default=str), planned, skipped],
        )  # fmt: skip

    def end_run(self, run_id: str, status: str) -> None:
        self.con.execute("UPDATE runs SET finished_at = ?, status = ? WHERE run_id = ?", [now(), status, run_id])

    def runs(self) -> list[dict[str, Any]]:
        return self._dicts("SELECT run_id, started_at, finished_at, status, samples_planned, samples_skipped "
                           "FROM runs ORDER BY started_at")  # fmt: skip

    # samples
    def finished_keys(self) -> set[str]:
        """Keys of samples that need no more work: answered, scored (failed samples are retried)."""
        return {k for (k,) in self.con.execute("SELECT key FROM samples WHERE status = 'ok'").fetchall()}

    def write(self, records: Sequence[SampleRecord]) -> None:
        """One transaction: samples replace any earlier failed attempt, scores replace theirs."""
        if not records:
            return
        con = self.con
        con.execute("BEGIN TRANSACTION")
        try:
            for i in range(0, len(records), _CHUNK):
                chunk = records[i : i + _CHUNK]
                sql = "INSERT OR REPLACE INTO samples VALUES " + ", ".join([_ROW] * len(chunk))
                con.execute(sql, [v for r in chunk for v in r.values()])
            keys = [r.row["key"] for r in records]
            con.execute("DELETE FROM scores WHERE list_contains(?, key)", [keys])
            rows = [(r.row["key"], m, v) for r in records for m, v in r.scores.items()]
            for i in range(0, len(rows), _CHUNK):
                chunk_rows = rows[i : i + _CHUNK]
                sql = "INSERT INTO scores VALUES " + ", ".join(["(?, ?, ?)"] * len(chunk_rows))
                con.execute(sql, [v for row in chunk_rows for v in row])
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise

    def writer(self) -> Writer:
        return Writer(self)

    def samples(self, where: str = "", params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        sql = "SELECT * FROM samples" + (f" WHERE {where}" if where else "")
        return self._dicts(sql, params)

    def scores_for(self, keys: Iterable[str]) -> dict[str, dict[str, float]]:
        out: dict[str, dict[str, float]] = {}
        rows = self.con.execute("SELECT key, metric, value FROM scores WHERE list_contains(?, key)", [list(keys)])
        for key, metric, value in rows.fetchall():
            out.setdefault(key, {})[metric] = value
        return out

    def _dicts(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        cur = self.con.execute(sql, list(params))
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def export(self, out: Path, fmt: str) -> Path:
        """samples joined with their scores (one column per metric) as parquet, csv or jsonl."""
        if fmt not in ("parquet", "csv", "jsonl"):
            raise StoreError(f"unknown export format {fmt!r} (parquet, csv or jsonl)")
        metrics = [m for (m,) in self.con.execute("SELECT DISTINCT metric FROM scores ORDER BY metric").fetchall()]
        cols = ", ".join(
            f"max(CASE WHEN c.metric = '{m.replace(chr(39), '')}' THEN c.value END) AS \"score_{m}\"" for m in metrics
        )
        query = (
            f"SELECT s.*{', ' + cols if cols else ''} FROM samples s LEFT JOIN scores c ON c.key = s.key "
            "GROUP BY ALL ORDER BY s.suite, s.model, s.preset, s.item_id, s.repeat"
        )
        options = {"parquet": "FORMAT parquet", "csv": "FORMAT csv, HEADER", "jsonl": "FORMAT json"}[fmt]
        target = str(out).replace("'", "''")
        self.con.execute(f"COPY ({query}) TO '{target}' ({options})")
        return out


class StoreError(InputError):
    pass


class Writer:
    """The single writer thread. `put` never blocks the event loop; `close` drains and commits everything."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.queue: queue.SimpleQueue[SampleRecord | None] = queue.SimpleQueue()
        self.written = 0
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="llamune-store-writer", daemon=True)
        self.thread.start()

    def put(self, record: SampleRecord) -> None:
        if self.error is not None:
            raise StoreError(f"the store stopped accepting samples: {self.error}")
        self.queue.put(record)

    def _run(self) -> None:
        done = False
        while not done:
            batch: list[SampleRecord] = []
            item = self.queue.get()
            while True:
                if item is None:
                    done = True
                    break
                batch.append(item)
                if len(batch) >= 512:
                    break
                try:
                    item = self.queue.get_nowait()
                except queue.Empty:
                    break
            try:
                self.store.write(batch)
                self.written += len(batch)
            except BaseException as exc:  # surfaced to the runner at its next put() or at close()
                self.error = exc
                return

    def close(self) -> None:
        self.queue.put(None)
        self.thread.join()
        if self.error is not None:
            raise StoreError(f"writing samples failed: {self.error}")
