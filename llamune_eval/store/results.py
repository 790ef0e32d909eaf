"""The results store: runs, samples and scores in one DuckDB file, fed through an append-only journal.

Every sample has a key (suite version, item, model and digest, preset parameters, template version, repeat,
seed); the key is the primary key, so a sample exists once however often a run is restarted. A finished sample is
appended to `<store>.journal.jsonl` the moment it is scored (one write, flushed to the OS: a killed process loses
nothing) and the journal is moved into DuckDB in bulk when the run ends, or when the store is next opened after a
crash. DuckDB pays a large fixed cost per statement and competes for the GIL from a writer thread, so row-by-row
commits would slow the run itself; the journal keeps the hot path to one small write.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from llamune_eval import jsonio
from llamune_eval.records import Judgement, R, Sample, fields
from llamune_eval.store import schema, texts
from llamune_eval.store._duckdb import connect
from llamune_eval.store.schema import JUDGEMENT_COLUMNS, SAMPLE_COLUMNS
from llamune_eval.types import InputError

MAX_LINE = 1 << 30  # bytes of one journal line DuckDB will read (its default, 16 MB, is smaller than some answers)
Rescored = tuple[str, str | None, bool, bool, dict[str, float]]  # key, parsed, parse_ok, pending_judge, values
SIDECARS = (".wal", ".journal.jsonl", ".judgements.jsonl")  # DuckDB's write-ahead log, the two journals


def store_files(path: Path) -> list[Path]:
    """The store's file and its sidecars: the journals' names are decided here only, and export never overwrites
    any of them."""
    return [path.with_name(path.name + suffix) for suffix in ("", *SIDECARS)]


@dataclass(frozen=True, slots=True)
class SampleRecord:
    """One finished sample (or one that failed for good) and its per-sample score values."""

    sample: Sample
    scores: dict[str, float]


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Store:
    """One DuckDB file. Reads on the caller's thread; writes through `writer()` during a run."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if self.path.parent and not self.path.parent.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
        fresh = not self.path.exists()
        if not fresh:
            probe(self.path)  # a damaged store is reported and left exactly as it is
        try:
            self.con = connect(self.path)
        except Exception as exc:
            raise StoreError(f"{self.path}: cannot open the store: {str(exc).splitlines()[0]}") from exc
        if fresh:
            private(self.path)  # it holds prompts, answers and users' comments
        schema.create(self.con)
        self.stored_texts: set[str] = set()  # digests this process already moved out of line
        _, _, self.journal, self.judgement_journal = store_files(self.path)
        self.recover()
        self.mark_interrupted()

    def read_types(self, table: str) -> dict[str, str]:
        """Column -> the type `read_json` reads it as: the table's own, but a JSON column is read as its text (rows
        carry it as JSON text in a string) and becomes JSON on insert."""
        return {c: "VARCHAR" if t == "JSON" else t for c, t in schema.BY_NAME[table].types.items()}

    def recover(self) -> int:
        """Move journaled rows into DuckDB in one vectorised statement per table, then empty the journals.

        Idempotent (keys replace earlier rows), so a crash during recovery is recovered by the next open; a line
        torn by a kill mid-write is skipped and that sample or judgement is simply made again.
        """
        count = 0
        for journal, table, columns, scored in (
            (self.journal, "samples", SAMPLE_COLUMNS, True),
            (self.judgement_journal, "judgements", JUDGEMENT_COLUMNS, False),
        ):
            if not journal.exists():
                continue
            if journal.stat().st_size:
                count += self._ingest(journal, table, columns, scored)
            journal.unlink()
        return count

    def _ingest(self, journal: Path, table: str, columns: Sequence[str], scored: bool) -> int:
        types = self.read_types(table)
        struct = ", ".join(f'"{c}" {types[c]}' for c in columns)
        spec = f"'row': 'STRUCT({struct})'" + (", 'scores': 'MAP(VARCHAR, DOUBLE)'" if scored else "")
        con = self.con
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE journal AS SELECT * FROM read_json(?, format = 'newline_delimited', "
                f"ignore_errors = true, maximum_object_size = {MAX_LINE}, columns = {{{spec}}}) "
                "WHERE row.key IS NOT NULL "
                "QUALIFY row_number() OVER (PARTITION BY row.key ORDER BY row.created_at DESC) = 1",
                [str(journal)],
            )
            found = con.execute("SELECT count(*) FROM journal").fetchone()
            names = ", ".join(f'"{c}"' for c in columns)  # by name: the record's fields
            con.execute(f"INSERT OR REPLACE INTO {table} ({names}) SELECT row.* FROM journal")
            if scored:
                con.execute("DELETE FROM scores WHERE key IN (SELECT row.key FROM journal)")
                con.execute(
                    "INSERT INTO scores SELECT row.key, unnest(map_keys(scores)), unnest(map_values(scores)) "
                    "FROM journal"
                )
            con.execute("DROP TABLE journal")
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        return int(found[0]) if found else 0

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # runs
    def begin_run(
        self, run_id: str, config: Any, suites: Any, plan: Any, planned: int, skipped: int, quarter: str | None = None
    ) -> None:
        """A run is 'running' until `end_run`; its process and host are kept so a later open can tell it died."""
        self.con.execute(
            "INSERT INTO runs (run_id, started_at, finished_at, status, config, suites, plan, samples_planned, "
            "samples_skipped, quarter, pid, host) VALUES (?, ?, NULL, 'running', ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                run_id,
                now(),
                jsonio.dumps(config),
                jsonio.dumps(suites),
                jsonio.dumps(plan),
                planned,
                skipped,
                quarter,
                os.getpid(),
                socket.gethostname(),
            ],
        )

    def mark_interrupted(self) -> int:
        """Runs left 'running' by a process that died (SIGKILL, power loss) become 'interrupted'.

        DuckDB lets one process at a time open the file for writing, so a 'running' run found on open belongs to
        a process that is gone, unless it is this very process (which may open the store twice).
        """
        cur = self.con.execute(
            "UPDATE runs SET status = 'interrupted' WHERE status = 'running' "
            "AND NOT (coalesce(pid, -1) = ? AND coalesce(host, '') = ?)",
            [os.getpid(), socket.gethostname()],
        )
        row = cur.fetchone()
        return int(row[0]) if row else 0

    def end_run(self, run_id: str, status: str) -> None:
        self.con.execute("UPDATE runs SET finished_at = ?, status = ? WHERE run_id = ?", [now(), status, run_id])

    def runs(self) -> list[dict[str, Any]]:
        return self._dicts(
            "SELECT run_id, started_at, finished_at, status, samples_planned, samples_skipped, "
            "quarter FROM runs ORDER BY started_at"
        )

    # samples
    def finished_keys(self) -> set[str]:
        """Keys of samples that need no more work: answered, scored (failed samples are retried)."""
        return {k for (k,) in self.con.execute("SELECT key FROM samples WHERE status = 'ok'").fetchall()}

    def writer(self) -> Writer:
        return Writer(self)

    def judgement_writer(self) -> Writer:
        return Writer(self, judgements=True)

    def judgements(self) -> list[Judgement]:
        """Every stored judgement, failed requests included."""
        return self._judgements("TRUE")

    def _judgements(self, where: str, params: Sequence[Any] = ()) -> list[Judgement]:
        return self._records(Judgement, "judgements", where, params)

    def _records(self, record: type[R], source: str, where: str, params: Sequence[Any] = ()) -> list[R]:
        """Rows of `source` read by `record`'s fields (its table's columns), so a renamed column fails here; in key
        order, so what is computed from them (the judges' resampled intervals) does not depend on storage order."""
        columns = fields(record)
        query = f"SELECT {', '.join(columns)} FROM {source} WHERE {where} ORDER BY key"
        rows = self.con.execute(query, list(params)).fetchall()
        return [record.model_validate(dict(zip(columns, r, strict=True))) for r in rows]

    def valid_judgements(self) -> list[Judgement]:
        """The judgements the figures and scores read: every verdict the judge returned (an unparsable one
        included, as a parse failure), none whose request failed."""
        return self._judgements("error_kind IS NULL")

    def judgements_for(self, keys: Iterable[str]) -> list[Judgement]:
        return self._judgements("key IN (SELECT unnest(?::VARCHAR[]))", [list(keys)])

    def finished_judgements(self) -> set[str]:
        return {k for (k,) in self.con.execute("SELECT key FROM judgements WHERE error_kind IS NULL").fetchall()}

    def models(self) -> list[str]:
        """Every model with stored samples."""
        return [m for (m,) in self.con.execute("SELECT DISTINCT model FROM samples ORDER BY model").fetchall()]

    def samples(self) -> list[Sample]:
        """Every stored sample, its texts whole."""
        return self._samples("TRUE")

    def samples_to_judge(self, *, all_samples: bool) -> list[Sample]:
        """The answers the judge stage grades: those waiting for a judge, or with `all_samples` every answer of an
        in-house suite (deterministic scorers already scored the others' answers)."""
        wanted = "kind = 'inhouse'" if all_samples else "pending_judge"
        return self._samples(f"status = 'ok' AND {wanted}")

    def _samples(self, where: str) -> list[Sample]:
        return self._records(Sample, "samples_full", where)  # the table's columns, texts put back in line

    def stale_samples(
        self, suite: str, suite_version: str, template_version: str, scoring_version: str
    ) -> list[tuple[str, str, str | None]]:
        """(key, item id, output) of a suite's answers scored under other rules than `scoring_version`."""
        return self.con.execute(
            "SELECT key, item_id, output FROM samples_full WHERE status = 'ok' AND suite = ? AND suite_version = ? "
            "AND template_version = ? AND coalesce(scoring_version, '1') <> ?",
            [suite, suite_version, template_version, scoring_version],
        ).fetchall()

    def rescore(self, scoring_version: str, rows: Sequence[Rescored]) -> int:
        """Replace the scores of stored answers: (key, parsed, parse_ok, pending_judge, values) each, in one
        transaction (idempotent: an interrupted rescore is simply done again)."""
        if not rows:
            return 0
        keys, parsed, ok, pending, _ = (list(col) for col in zip(*rows, strict=True))
        metrics = [(key, m, v) for key, *_, values in rows for m, v in values.items()]
        con = self.con
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(
                "CREATE OR REPLACE TEMP TABLE rescored AS SELECT unnest(?::VARCHAR[]) AS key, "
                "unnest(?::VARCHAR[]) AS parsed, unnest(?::BOOLEAN[]) AS ok, unnest(?::BOOLEAN[]) AS pending",
                [keys, parsed, ok, pending],
            )
            con.execute(
                "UPDATE samples SET parsed = r.parsed, parse_ok = r.ok, pending_judge = r.pending, "
                "scoring_version = ? FROM rescored r WHERE samples.key = r.key",
                [scoring_version],
            )
            con.execute("DELETE FROM scores WHERE key IN (SELECT key FROM rescored)")
            if metrics:
                con.execute(
                    "INSERT INTO scores SELECT unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), unnest(?::DOUBLE[])",
                    [list(c) for c in zip(*metrics, strict=True)],
                )
            con.execute("DROP TABLE rescored")
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        return len(rows)

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
            f"SELECT s.*{', ' + cols if cols else ''} FROM samples_full s LEFT JOIN scores c ON c.key = s.key "
            "GROUP BY ALL ORDER BY s.suite, s.model, s.preset, s.item_id, s.repeat"
        )
        options = {"parquet": "FORMAT parquet", "csv": "FORMAT csv, HEADER", "jsonl": "FORMAT json"}[fmt]
        target = str(out).replace("'", "''")
        self.con.execute(f"COPY ({query}) TO '{target}' ({options})")
        return out


class StoreError(InputError):
    pass


def private(path: Path) -> None:
    """Owner-only permissions (0600) for a file that holds conversations."""
    with contextlib.suppress(OSError):  # a filesystem without modes (a mounted share): nothing to tighten
        os.chmod(path, 0o600)


def probe(path: Path) -> None:
    """Read every table of an existing store read-only, every column: a truncated or damaged file is one clear
    error, and nothing (no migration, recovery or checkpoint) ever writes to it."""
    import duckdb

    try:
        con = connect(path, read_only=True)
    except duckdb.Error as exc:
        raise StoreError(f"{path}: not a readable store, left as it is ({str(exc).splitlines()[0][:200]})") from exc
    try:
        tables = [
            t
            for (t,) in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
            ).fetchall()
        ]
        for table in tables:
            con.execute(f'SELECT count(*), sum(hash(t)) FROM "{table}" t').fetchone()
    except duckdb.Error as exc:
        raise StoreError(
            f"{path}: the store is damaged or truncated and was left as it is "
            f"({str(exc).splitlines()[0][:200]}); restore it from a backup"
        ) from exc
    finally:
        con.close()


class Writer:
    """Appends each finished sample (or judgement) to its journal at once; `close` moves it into DuckDB."""

    def __init__(self, store: Store, judgements: bool = False) -> None:
        self.store = store
        self.written = 0
        path = store.judgement_journal if judgements else store.journal
        fresh = not path.exists()
        self.file = path.open("a", encoding="utf-8")
        if fresh:
            private(path)

    def put_judgement(self, judgement: Judgement) -> None:
        self.file.write(orjson.dumps({"row": judgement.model_dump()}).decode() + "\n")
        self.file.flush()
        self.written += 1

    def put(self, record: SampleRecord) -> None:
        row = record.sample.model_dump()  # every field, in the table's order
        texts.out_of_line(self.store.con, row, self.store.stored_texts)  # journal lines stay small
        self.file.write(orjson.dumps({"row": row, "scores": record.scores}).decode() + "\n")
        self.file.flush()  # in the OS's hands now: survives SIGKILL of this process
        self.written += 1

    def close(self) -> None:
        self.file.close()
        self.store.recover()
