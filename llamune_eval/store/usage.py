"""Every query of the usage events: the ingest's writes, the quarter's decision's reads (per model answers,
successes and ratings; per task category; /retry decisions) and the UsageMetrics' aggregates.

The rules are written here once: an answer is an event of kind main, background or retry; an answer without a task
category counts as 'general' (the specification's default category); a period is the `YYYY-Qn` quarter of the
events' `created_at`, None for every event.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from llamune_eval.records import RATING_CRITERIA, UsageEvent
from llamune_eval.store.schema import USAGE_COLUMNS
from llamune_eval.types import InputError

if TYPE_CHECKING:
    from llamune_eval.store.results import Store

ANSWERS = "kind IN ('main', 'background', 'retry')"
NO_CATEGORY = "general"
CATEGORY = f"coalesce(category, '{NO_CATEGORY}')"
PERSON = "coalesce({0}user, {0}source)"  # a drop's pseudonym; a chat database ingested whole is its one user
LEVELS = tuple(RATING_CRITERIA)  # /rate's criteria, 1-5 each
# one rated answer's satisfaction: the mean of the criteria it was given
_GIVEN = " + ".join(f"({c} IS NOT NULL)::INT" for c in LEVELS)
SATISFACTION = f"({' + '.join(f'coalesce({c}, 0)' for c in LEVELS)}) / nullif({_GIVEN}, 0)"


def quarter_of(alias: str = "") -> str:
    """SQL: the quarter of an event's `created_at` (of the table aliased `alias`), as `YYYY-Qn`."""
    at = f"{alias}.created_at" if alias else "created_at"
    return f"strftime({at}, '%Y') || '-Q' || quarter({at})"


def _where(period: str | None, *conditions: str, alias: str = "") -> tuple[str, list[Any]]:
    """A WHERE clause of `conditions` and, unless `period` is None, of the period; and its parameters."""
    parts = [*conditions, *([f"{quarter_of(alias)} = ?"] if period else [])]
    return (f"WHERE {' AND '.join(parts)}" if parts else ""), ([period] if period else [])


# --- the ingest ------------------------------------------------------------------------------------------------


class UsageRowError(InputError):
    """DuckDB could not store a value: `line` (1-based) of the rows given, 0 when DuckDB did not say."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}")
        self.line, self.reason = line, reason


def event_count(store: Store) -> int:
    row = store.con.execute("SELECT count(*) FROM usage_events").fetchone()
    return int(row[0]) if row else 0


def _read_spec(store: Store, *, source: bool) -> tuple[str, str]:
    """read_json's columns (without `source` when the file itself is the source) and the SELECT list that puts
    every column in the table's order (the source as a parameter)."""
    types = store.read_types("usage_events")
    read = [c for c in USAGE_COLUMNS if not (source and c == "source")]
    spec = ", ".join(f"'{c}': '{types[c]}'" for c in read)
    select = ", ".join("?" if source and c == "source" else c for c in USAGE_COLUMNS)
    return spec, select


def upsert_events(store: Store, events: Sequence[UsageEvent]) -> None:
    """Upsert whole events (every field, the source included) through a JSONL copy that DuckDB reads in one
    statement: a statement per row would cost far more. A value DuckDB cannot store raises `UsageRowError`."""
    import duckdb

    spec, select = _read_spec(store, source=False)
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False, encoding="utf-8") as tmp:
        for event in events:  # the time as the chat wrote it (ISO 8601, its offset kept): DuckDB reads it as before
            tmp.write(json.dumps(event.model_dump(), ensure_ascii=False, default=datetime.isoformat) + "\n")
    try:
        store.con.execute(
            f"INSERT OR REPLACE INTO usage_events SELECT {select} FROM read_json(?, format = 'newline_delimited', "
            f"columns = {{{spec}}})",
            [tmp.name],
        )
    except duckdb.Error as exc:  # a value of the wrong type: DuckDB names the line of the copy
        first = str(exc).splitlines()[0]
        line = re.search(r"in line (\d+): (.*)", first)
        n, reason = (int(line.group(1)), line.group(2)) if line else (0, first)
        raise UsageRowError(n, reason) from exc
    finally:
        Path(tmp.name).unlink(missing_ok=True)


def ingest_jsonl(store: Store, path: Path, explain: Callable[[], object]) -> int:
    """A JSONL export straight into the store, the file as each event's source (one parse in DuckDB, no Python per
    line); how many events it held. When DuckDB cannot read the file or an event has no id, `explain` (a reader
    that names the file's line at fault and raises) runs first."""
    spec, select = _read_spec(store, source=True)
    con = store.con
    try:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE usage_file AS SELECT * FROM read_json(?, format = 'newline_delimited', "
            f"columns = {{{spec}}})",
            [str(path)],
        )
    except Exception as exc:
        explain()
        raise InputError(f"{path}: cannot read usage events: {str(exc).splitlines()[0]}") from exc
    try:
        missing = con.execute("SELECT count(*) FROM usage_file WHERE event_id IS NULL").fetchone()
        if missing and missing[0]:
            explain()
        bad = con.execute("SELECT event_id FROM usage_file WHERE NOT json_valid(params) LIMIT 1").fetchone()
        if bad:  # the store keeps params as JSON: a string that is not JSON text cannot go in
            raise InputError(f"{path}: usage event {bad[0]!r}: params is not JSON")
        counted = con.execute("SELECT count(*) FROM usage_file").fetchone()
        con.execute(f"INSERT OR REPLACE INTO usage_events SELECT {select} FROM usage_file", [str(path)])
    finally:
        con.execute("DROP TABLE IF EXISTS usage_file")
    return int(counted[0]) if counted else 0


# --- the decision's signals ------------------------------------------------------------------------------------


class ModelAnswers(NamedTuple):
    model: str
    answers: int
    successes: int
    ratings: int
    up: int
    down: int


class CategoryAnswers(NamedTuple):
    category: str
    model: str
    answers: int
    successes: int


def events_per_quarter(store: Store) -> dict[str, int]:
    rows = store.con.execute(f"SELECT {quarter_of()} AS q, count(*) FROM usage_events GROUP BY q ORDER BY q")
    return {q: n for q, n in rows.fetchall()}


def per_model(store: Store, period: str | None) -> list[ModelAnswers]:
    """Per model: answers, successes, ratings, thumbs up and down, of the answers in `period`."""
    where, params = _where(period, ANSWERS, "model IS NOT NULL")
    return [
        ModelAnswers(*r)
        for r in store.con.execute(
            "SELECT model, count(*), count(*) FILTER (WHERE success), count(rating), "
            "count(*) FILTER (WHERE rating > 0), "
            f"count(*) FILTER (WHERE rating < 0) FROM usage_events {where} GROUP BY model ORDER BY model",
            params,
        ).fetchall()
    ]


def per_category(store: Store, period: str | None) -> list[CategoryAnswers]:
    where, params = _where(period, ANSWERS, "model IS NOT NULL")
    return [
        CategoryAnswers(*r)
        for r in store.con.execute(
            f"SELECT {CATEGORY}, model, count(*), count(*) FILTER (WHERE success) FROM usage_events {where} "
            "GROUP BY ALL ORDER BY 1, 2",
            params,
        ).fetchall()
    ]


def retry_decisions(store: Store, period: str | None, *, by_preset: bool = False) -> list[tuple[str, str]]:
    """(winner, loser) for every /retry decision: the adopted answer beat the one it displaced. By model (answers
    of the same model ignored), or with `by_preset` by `model:preset`."""
    who = "{0}.model || ':' || coalesce({0}.preset, '')" if by_preset else "{0}.model"
    where, params = _where(period, alias="w")
    rows = store.con.execute(
        f"SELECT {who.format('w')}, {who.format('l')} FROM usage_events w JOIN usage_events l "
        f"ON {PERSON.format('w.')} = {PERSON.format('l.')} AND w.session_id = l.session_id AND w.turn = l.turn "
        "AND w.adopted AND NOT l.adopted "
        f"AND w.event_id <> l.event_id {'' if by_preset else 'AND w.model <> l.model'} {where}",
        params,
    ).fetchall()
    return [(w, loser) for w, loser in rows]


# --- the UsageMetrics ------------------------------------------------------------------------------------------


class ModelUsage(NamedTuple):
    model: str | None
    answers: int
    average_latency: float | None
    success_rate: float | None
    rating: float | None  # the mean of the thumbs (+1 / -1) given
    ratings: int
    accuracy: float | None  # the means of /rate's three 1-5 levels
    naturalness: float | None
    usefulness: float | None
    rated: int  # answers with any of the three levels


class TaskUsage(NamedTuple):
    category: str
    model: str | None
    answers: int
    success_rate: float | None
    average_latency: float | None
    rating: float | None


class Adoption(NamedTuple):
    model: str | None
    preset: str
    retries: int
    adopted: int


def model_usage(store: Store, period: str | None) -> list[ModelUsage]:
    """Per model, the answers in `period`, the most used first."""
    where, params = _where(period, ANSWERS)
    rows = store.con.execute(
        "SELECT model, count(*), avg(latency_s), avg(success::INT), avg(rating), count(rating), avg(accuracy), "
        "avg(naturalness), avg(usefulness), count(*) FILTER (WHERE coalesce(accuracy, naturalness, usefulness) "
        f"IS NOT NULL) FROM usage_events {where} GROUP BY model ORDER BY count(*) DESC, model",
        params,
    ).fetchall()
    return [ModelUsage(*r) for r in rows]


def task_performance(store: Store, period: str | None) -> list[TaskUsage]:
    """Per task category and model, the answers in `period`: categories in order, the most used model first."""
    where, params = _where(period, ANSWERS)
    return [
        TaskUsage(*r)
        for r in store.con.execute(
            f"SELECT {CATEGORY}, model, count(*), avg(success::INT), avg(latency_s), avg(rating) FROM usage_events "
            f"{where} GROUP BY ALL ORDER BY 1, 3 DESC, 2",
            params,
        ).fetchall()
    ]


def thumbs(store: Store, period: str | None) -> tuple[int, int]:
    """Thumbs up and down given in `period`."""
    where, params = _where(period)
    row = store.con.execute(
        f"SELECT count(*) FILTER (WHERE rating > 0), count(*) FILTER (WHERE rating < 0) FROM usage_events {where}",
        params,
    ).fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)


def comments(store: Store, period: str | None) -> list[str]:
    """The users' comments in `period`, oldest first."""
    where, params = _where(period, "comment IS NOT NULL")
    order = "ORDER BY created_at, event_id"  # ties in time keep one order: the report reads the same each run
    rows = store.con.execute(f"SELECT comment FROM usage_events {where} {order}", params).fetchall()
    return [c for (c,) in rows]


def retry_adoption(store: Store, period: str | None) -> list[Adoption]:
    """Per model and preset: its /retry answers in `period` whose adoption was decided, and how many were adopted."""
    where, params = _where(period, "kind = 'retry'", "adopted IS NOT NULL")
    return [
        Adoption(*r)
        for r in store.con.execute(
            f"SELECT model, coalesce(preset, ''), count(*), count(*) FILTER (WHERE adopted) FROM usage_events {where} "
            "GROUP BY ALL ORDER BY 1, 2",
            params,
        ).fetchall()
    ]


class People(NamedTuple):
    """Who used the chat in a period: the specification's Phase 2 KPIs and what they rest on."""

    users: int  # active users: people who asked at least one question
    sessions: int  # sessions with at least one question
    conversations: int  # questions the main model was asked (each /retry of one is not another)
    satisfaction: float | None  # mean over rated answers of the mean of their /rate criteria (1-5)
    rated: int  # answers rated on any /rate criterion
    per_tier: dict[str, int]  # people per memory tier ('unknown': a chat database ingested whole does not say)


def people(store: Store, period: str | None) -> People:
    asking, params = _where(period, "kind = 'main'")
    person = PERSON.format("")
    one = store.con.execute(
        f"SELECT count(DISTINCT {person}), count(DISTINCT {person} || '/' || session_id), count(*) FROM usage_events "
        f"{asking}",
        params,
    ).fetchone()
    tiers = store.con.execute(  # each person in the tier of their latest question (a machine's memory may change)
        f"SELECT t, count(*) FROM (SELECT {person} AS p, arg_max(tier, created_at) AS t FROM usage_events {asking} "
        "GROUP BY p) GROUP BY t ORDER BY t NULLS LAST",
        params,
    ).fetchall()
    rating, rated_params = _where(period, ANSWERS, f"{SATISFACTION} IS NOT NULL")
    rated = store.con.execute(f"SELECT avg({SATISFACTION}), count(*) FROM usage_events {rating}", rated_params)
    mean, n = rated.fetchone() or (None, 0)
    users, sessions, conversations = one or (0, 0, 0)
    per_tier = {("unknown" if t is None else str(t)): int(k) for t, k in tiers}
    return People(int(users), int(sessions), int(conversations), mean, int(n), per_tier)
