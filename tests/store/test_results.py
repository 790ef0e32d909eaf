"""The results store: journal recovery after a crash, torn lines, replacement of failed samples."""

from __future__ import annotations

from pathlib import Path

from fixtures.synth import make_sample
from llamune_eval.store.results import SampleRecord, Store, now
from llamune_eval.store.selection import scores_of


def _record(key: str, status: str = "ok", value: float = 1.0) -> SampleRecord:
    sample = make_sample(key, status=status, params="{}", output='["a"]', created_at=now(), parse_ok=True)
    return SampleRecord(sample, {"correct": value} if status == "ok" else {})


def test_journal_survives_a_crash_and_is_moved_in_on_next_open(tmp_path: Path) -> None:
    store = Store(tmp_path / "r.duckdb")
    writer = store.writer()
    for i in range(5):
        writer.put(_record(f"k{i}"))
    writer.file.write('{"row": {"key": "torn", "sta')  # a kill in the middle of a write
    writer.file.flush()
    store.con.close()  # the process dies: no writer.close(), no recovery
    reopened = Store(tmp_path / "r.duckdb")
    assert reopened.finished_keys() == {f"k{i}" for i in range(5)}
    assert scores_of(reopened, ["k0"]) == {"k0": {"correct": 1.0}}
    assert not reopened.journal.exists()
    reopened.close()


def test_a_retried_sample_replaces_its_failed_row_and_scores(tmp_path: Path) -> None:
    with Store(tmp_path / "r.duckdb") as store:
        writer = store.writer()
        writer.put(_record("a", status="error"))
        writer.close()
        assert store.finished_keys() == set()
        writer = store.writer()
        writer.put(_record("a", value=0.0))
        writer.close()
        assert [r.status for r in store.samples()] == ["ok"]
        assert scores_of(store, ["a"]) == {"a": {"correct": 0.0}}
        assert store.recover() == 0  # nothing left in the journal


def test_a_run_left_running_by_a_dead_process_is_marked_interrupted(tmp_path: Path) -> None:
    with Store(tmp_path / "s.duckdb") as store:
        store.begin_run("mine", {}, [], {}, 1, 0, "2027-Q1")
        store.begin_run("dead", {}, [], {}, 1, 0, "2027-Q1")
        store.con.execute("UPDATE runs SET pid = -5 WHERE run_id = 'dead'")  # the process that made it is gone
        assert store.mark_interrupted() == 1
        status = {r["run_id"]: (r["status"], r["quarter"]) for r in store.runs()}
    assert status == {"mine": ("running", "2027-Q1"), "dead": ("interrupted", "2027-Q1")}
    with Store(tmp_path / "s.duckdb") as store:  # this process: its own runs stay as they are
        assert {r["run_id"]: r["status"] for r in store.runs()}["mine"] == "running"
