"""The notebook API: the store's tables and the leaderboard as DataFrames, read-only, with the values the store
and the evidence hold; a missing store is one clear error and no file."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from fixtures.synth import make_sample
from llamune_eval import frames
from llamune_eval.analysis import Evidence, leaderboard
from llamune_eval.records import Judgement, Sample
from llamune_eval.store.results import SAMPLE_COLUMNS, SampleRecord, Store, StoreError, now
from llamune_eval.store.texts import INLINE_CHARS
from llamune_eval.types import InputError
from llamune_eval.usage import ingest
from tests.test_layers import _graph

LONG = "長" * (INLINE_CHARS + 10)  # moved out of line into the texts table


def _row(key: str, **extra: Any) -> Sample:
    return make_sample(key, **{
        "run_id": "r1", "suite": "jnli", "suite_version": "v1", "template_version": "t", "kind": "jnli",
        "category": "nli", "item_id": key, "model": "m", "model_digest": "d", "preset": "fast", "params": "{}",
        "repeat": 0, "status": "ok", "parse_ok": True, "latency_s": 1.0, "created_at": now(),
        "prompt": json.dumps([f"問 {key}"], ensure_ascii=False), "output": json.dumps(["entailment"]),
    } | extra)  # fmt: skip


def _judgement(key: str, sample: str, model: str, overall: float, **extra: Any) -> Judgement:
    return Judgement.model_validate(
        {"key": key, "run_id": "j", "mode": "single", "suite": "inhouse", "item_id": sample, "repeat": 0,
         "sample_key": sample, "model": model, "preset": "fast", "judge_model": "judge", "template_version": "j1",
         "scale": 10, "trial": 0, "ok": True, "overall": overall, "created_at": now()} | extra
    )  # fmt: skip


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two runs (2026-Q4, 2027-Q1), jnli answers by m and n, a long in-house answer judged, usage events."""
    path = tmp_path_factory.mktemp("frames") / "r.duckdb"
    with Store(path) as st:
        for run, quarter in (("r1", "2026-Q4"), ("r2", "2027-Q1")):
            st.begin_run(run, {}, [], {}, 0, 0, quarter)
            st.end_run(run, "finished")
        writer = st.writer()
        for i in range(4):  # m right on 0..2, n right on 0 only
            writer.put(SampleRecord(_row(f"m{i}", latency_s=1.0 + i), {"correct": float(i < 3)}))
            writer.put(
                SampleRecord(_row(f"n{i}", model="n", model_digest="e", latency_s=2.0), {"correct": float(i < 1)})
            )
        writer.put(SampleRecord(_row("m0-v2", run_id="r2", suite_version="v2", item_id="m0"), {"correct": 0.0}))
        writer.put(SampleRecord(_row("long", suite="inhouse", kind="inhouse", output=json.dumps([LONG, "二"]),
                                     latency_s=7.5, completion_tokens=42), {}))  # fmt: skip
        writer.close()
        verdicts = st.judgement_writer()
        verdicts.put_judgement(_judgement("j1", "long", "m", 8.0))
        verdicts.put_judgement(_judgement("j2", "long", "x", 4.0, mode="pairwise", model_b="n", sample_key_b="n0"))
        verdicts.close()
        events = path.with_name("events.jsonl")
        events.write_text("".join(json.dumps({"event_id": f"e{i}", "kind": "main", "model": model, "success": True,
                                              "latency_s": 1.0, "created_at": at}) + "\n"
                                  for i, (model, at) in enumerate([("m", "2026-11-02T10:00:00"),
                                                                   ("m", "2027-01-05T10:00:00"),
                                                                   ("n", "2027-02-01T10:00:00")])),
                          encoding="utf-8")  # fmt: skip
        ingest(st, [events])
    return path


def test_samples_hold_every_sample_with_its_texts_whole(store: Path) -> None:
    df = frames.samples(store)
    assert len(df) == 10
    long = df.set_index("key").loc["long"]
    assert long.output == [LONG, "二"] and long.prompt == ["問 long"]  # resolved from the texts table
    assert (long.latency_s, long.completion_tokens, long.status, long.quarter) == (7.5, 42, "ok", "2026-Q4")
    assert set(SAMPLE_COLUMNS) | {"quarter"} == set(df.columns)


def test_sample_filters(store: Path) -> None:
    assert sorted(frames.samples(store, model="n").key) == ["n0", "n1", "n2", "n3"]
    assert list(frames.samples(store, suite="inhouse").key) == ["long"]
    assert list(frames.samples(store, quarter="2027-Q1").key) == ["m0-v2"]
    # the quarter's evidence: 2026-Q4 never sees the v2 run; 2027-Q1's newest jnli version is v2 alone
    assert len(frames.samples(store, quarter="2026-Q4", current=True, suite="jnli")) == 8
    assert list(frames.samples(store, quarter="2027-Q1", current=True, suite="jnli").key) == ["m0-v2"]


def test_scores_in_long_form(store: Path) -> None:
    df = frames.scores(store, suite="jnli")
    assert len(df) == 9 and set(df.metric) == {"correct"}
    assert df.groupby("model").value.sum().to_dict() == {"m": 3.0, "n": 1.0}
    row = df.set_index("key").loc["m0-v2"]
    assert (row.value, row.quarter, row.preset, row.item_id) == (0.0, "2027-Q1", "fast", "m0")
    assert frames.scores(store, suite="inhouse").empty  # the judge scores it, not a rule
    assert list(frames.scores(store, quarter="2026-Q4", current=True, model="m").value) == [1.0, 1.0, 1.0, 0.0]


def test_judgements_and_their_filters(store: Path) -> None:
    df = frames.judgements(store)
    assert dict(zip(df.key, df.overall, strict=True)) == {"j1": 8.0, "j2": 4.0}
    assert list(df.quarter) == ["2026-Q4", "2026-Q4"]  # the judged sample's run
    assert list(frames.judgements(store, model="n").key) == ["j2"]  # either side of a pairwise verdict
    assert list(frames.judgements(store, model="m").key) == ["j1"]
    assert frames.judgements(store, quarter="2027-Q1").empty


def test_usage_events_per_model_and_quarter(store: Path) -> None:
    df = frames.usage_events(store)
    assert df.groupby("model").size().to_dict() == {"m": 2, "n": 1}
    assert list(df.quarter) == ["2026-Q4", "2027-Q1", "2027-Q1"]
    assert list(frames.usage_events(store, quarter="2027-Q1").event_id) == ["e1", "e2"]
    assert list(frames.usage_events(store, model="n").event_id) == ["e2"]


def test_the_leaderboard_is_the_evidences(store: Path) -> None:
    with Store(store) as st:
        rows = leaderboard(Evidence.load(st, "2026-Q4"))
    df = frames.leaderboard(store, quarter="2026-Q4")
    assert [(r.suite, r.model, r.preset, r.value, r.n) for r in rows] == list(
        zip(df.suite, df.model, df.preset, df.value, df.n, strict=True)
    )
    jnli = df.set_index(["suite", "model"]).loc[("jnli", "m")]
    assert (jnli.value, jnli.n, jnli.metric) == (0.75, 4, "accuracy")
    assert jnli.ci_low == next(r.ci_low for r in rows if (r.suite, r.model) == ("jnli", "m"))
    assert list(frames.leaderboard(store, quarter="2026-Q4", model="n").value) == [0.25]
    assert frames.leaderboard(store, suite="nothing").empty and "gap" in frames.leaderboard(store).columns


def test_reading_never_writes_the_store(store: Path) -> None:
    before = hashlib.sha256(store.read_bytes()).hexdigest()
    frames.samples(store), frames.scores(store), frames.judgements(store), frames.usage_events(store)
    frames.leaderboard(store)
    assert hashlib.sha256(store.read_bytes()).hexdigest() == before
    assert not store.with_name(store.name + ".wal").exists()


def test_a_journal_left_by_a_crash_is_recovered_first(tmp_path: Path) -> None:
    st = Store(tmp_path / "r.duckdb")
    writer = st.writer()
    writer.put(SampleRecord(_row("k"), {"correct": 1.0}))
    writer.file.close()
    st.close()  # no recovery: the row is in the journal only
    assert list(frames.samples(tmp_path / "r.duckdb").key) == ["k"]
    assert not st.journal.exists()


def test_a_missing_store_is_one_clear_error_and_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "nowhere" / "r.duckdb"
    with pytest.raises(StoreError, match="no results store") as caught:
        frames.samples(missing)
    assert str(missing) in str(caught.value) and isinstance(caught.value, InputError)
    monkeypatch.setenv("LLAMUNE_PATHS__STORE", json.dumps(str(missing)))  # the default: the config's store
    with pytest.raises(StoreError, match="nowhere"):
        frames.leaderboard()
    assert list(tmp_path.iterdir()) == []


def test_nothing_in_the_package_imports_frames() -> None:
    """Not the CLI's start-up, not the chat runtime, not a lazy import anywhere: pandas is for notebooks.
    (tests/cli/test_cli.py and tests/chat/test_db.py check that their start-up loads no pandas.)"""
    importers = sorted(m for m, edges in _graph().items() for t in edges if t.startswith("llamune_eval.frames"))
    assert importers == []
