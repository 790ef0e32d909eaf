"""Each stored record and its table are one contract: the same columns in the same order, each of a DuckDB type
that holds the field's Python type; the chat's SQLite table holds the same usage event; a misspelt field fails
where the record is built, never as a NULL in the store."""

from __future__ import annotations

import sqlite3
import types as pytypes
from datetime import datetime
from pathlib import Path
from typing import Any, Union, get_args, get_origin

import pytest
from pydantic import BaseModel, ValidationError

from fixtures.synth import make_sample
from llamune_eval.chat.db import ChatDB
from llamune_eval.records import CHAT_FIELDS, RATING_CRITERIA, HumanRating, Judgement, Sample, UsageEvent
from llamune_eval.store import schema
from llamune_eval.store.results import SampleRecord, Store
from llamune_eval.types import Footprint, Timing

DUCKDB = {str: {"VARCHAR", "JSON"}, int: {"INTEGER", "BIGINT"}, float: {"DOUBLE"}, bool: {"BOOLEAN"},
          datetime: {"TIMESTAMP"}}  # fmt: skip
# table -> its record and the columns the record does not hold (before its fields, after those first released)
CONTRACTS: dict[str, tuple[type[BaseModel], tuple[str, ...], tuple[str, ...]]] = {
    "samples": (Sample, (), ()),
    "judgements": (Judgement, (), ()),
    "usage_events": (UsageEvent, (), ()),
    "timings": (Timing, (), ("machine", "created_at")),
    "footprints": (Footprint, ("quarter",), ("machine", "created_at")),
    "human_ratings": (HumanRating, (), ()),
}


def _python_type(annotation: Any) -> type:
    """`str | None` -> str; a Literal of strings -> str."""
    args = [a for a in get_args(annotation) if a is not type(None)]
    if get_origin(annotation) in (Union, pytypes.UnionType):
        assert len(args) == 1, annotation
        return _python_type(args[0])
    if args and all(isinstance(a, str) for a in args):  # Literal["speed", "contention"]
        return str
    assert isinstance(annotation, type), annotation
    return annotation


@pytest.mark.parametrize("table", sorted(CONTRACTS))
def test_a_table_has_its_records_fields_in_order_with_matching_types(table: str) -> None:
    record, before, after = CONTRACTS[table]
    defined = schema.BY_NAME[table]
    extra = (*before, *after)
    assert defined.columns[: len(before)] == before and set(defined.columns) - set(record.model_fields) == {*extra}
    held = tuple(c for c in defined.columns if c not in extra)
    assert held == tuple(record.model_fields)  # in order; a field added later follows the table's own columns
    wrong = {
        name: (field.annotation, defined.types[name])
        for name, field in record.model_fields.items()
        if defined.types[name] not in DUCKDB[_python_type(field.annotation)]
    }
    assert wrong == {}


def test_the_evidences_sample_row_reads_sample_fields_as_they_are_typed() -> None:
    """`store.selection.SampleRow` is the fast read of a subset of `Sample` (no validation per row): same names,
    same Python types."""
    from dataclasses import fields
    from typing import get_type_hints

    from llamune_eval.store.selection import SampleRow

    hints = get_type_hints(SampleRow)
    written = {name: _python_type(field.annotation) for name, field in Sample.model_fields.items()}
    read = {f.name: _python_type(hints[f.name]) for f in fields(SampleRow)}
    assert read == {name: written[name] for name in read}


def test_the_store_built_from_the_definitions_has_the_records_columns(tmp_path: Path) -> None:
    with Store(tmp_path / "s.duckdb") as store:
        for table in CONTRACTS:  # the definitions' columns, which the test above holds to the records
            got = [r[0] for r in store.con.execute(f"DESCRIBE {table}").fetchall()]
            assert tuple(got) == schema.BY_NAME[table].columns, table


def test_the_chats_usage_table_holds_the_usage_event(tmp_path: Path) -> None:
    db = ChatDB(tmp_path / "chat.sqlite")
    columns = [r[1] for r in db.con.execute("PRAGMA table_info(usage_events)")]
    db.close()
    assert columns == ["id", *CHAT_FIELDS, "revision"]
    assert list(RATING_CRITERIA) == ["accuracy", "naturalness", "usefulness"]
    assert set(RATING_CRITERIA) <= set(CHAT_FIELDS)


def test_what_a_drop_shares_is_named_as_the_usage_event() -> None:
    """`channel.events.SharedEvent` reads the chat's rows by these names: each is a usage event's field."""
    from llamune_eval.channel.events import SharedEvent

    assert set(SharedEvent.model_fields) <= set(UsageEvent.model_fields)
    assert set(SharedEvent.model_fields) - set(CHAT_FIELDS) == {"user", "tier", "client", "turn"}


def test_a_misspelt_field_fails_where_the_record_is_built() -> None:
    with pytest.raises(ValidationError, match="tempalte_version"):
        make_sample("k", tempalte_version="t1")
    with pytest.raises(ValidationError, match="judge_modle"):
        Judgement(key="k", mode="single", suite="s", item_id="i", repeat=0, sample_key="s", model="m", preset="p",
                  judge_model="j", trial=0, judge_modle="x")  # type: ignore[call-arg]  # fmt: skip


def test_a_sample_reads_back_field_for_field(tmp_path: Path) -> None:
    sample = make_sample("k", run_id="r", suite_version="v1", template_version="t1", params='{"seed": 1}', seed=7,
                         prompt='["問"]', output='["答"]', latency_s=1.5, parse_ok=True, pending_judge=False,
                         created_at=datetime(2026, 12, 1, 9, 30), queue_s=0.25, item_category="writing")  # fmt: skip
    with Store(tmp_path / "s.duckdb") as store:
        writer = store.writer()
        writer.put(SampleRecord(sample, {"pass": 1.0}))
        writer.close()
        [row] = store.samples()
    assert row == sample


def test_the_chat_database_without_a_column_is_one_line_naming_it(tmp_path: Path) -> None:
    from llamune_eval.chat.db import Answer
    from llamune_eval.types import InputError
    from llamune_eval.usage import ingest

    path = tmp_path / "chat.sqlite"
    db = ChatDB(path)
    sid = db.create_session("m")
    db.record_usage(sid, db.add_message(sid, 1, "assistant", "a", model="m"), "main", Answer(model="m", latency_s=2.0))
    db.close()
    con = sqlite3.connect(path)
    con.execute("ALTER TABLE usage_events RENAME COLUMN latency_s TO latency")
    con.commit()
    con.close()
    with Store(tmp_path / "s.duckdb") as store, pytest.raises(InputError) as caught:
        ingest(store, [path])
    assert str(caught.value).startswith(f"{path}: ") and "latency_s" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_store_with_the_dropped_judge_runs_table_opens_and_keeps_it(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    with Store(path) as store:
        store.con.execute("CREATE TABLE judge_runs (run_id VARCHAR PRIMARY KEY, created_at TIMESTAMP, figures JSON)")
        store.con.execute("INSERT INTO judge_runs VALUES ('j1', TIMESTAMP '2026-11-01 10:00:00', '{\"n\": 1}')")
    with Store(path) as store:
        kept = store.con.execute("SELECT run_id, figures FROM judge_runs").fetchall()
        assert store.judgements() == []
    assert kept == [("j1", '{"n": 1}')]
