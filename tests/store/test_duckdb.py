"""DuckDB connections cannot download extensions, even when a query asks."""

from __future__ import annotations

from pathlib import Path

import pytest

from llamune_eval.store import connect


def test_autoinstall_and_autoload_are_off(tmp_path: Path) -> None:
    con = connect(tmp_path / "x.duckdb")
    got = con.execute(
        "select current_setting('autoinstall_known_extensions'), current_setting('autoload_known_extensions')"
    ).fetchone()
    assert got == (False, False)


def test_install_cannot_reach_the_network_and_settings_are_locked() -> None:
    import duckdb

    con = connect()
    with pytest.raises(duckdb.Error) as info:
        con.execute("INSTALL httpfs")
    assert "nonexistent" in str(info.value)  # a local path, not a download URL
    with pytest.raises(duckdb.Error, match="locked"):
        con.execute("SET autoinstall_known_extensions = true")


def test_local_files_still_work(tmp_path: Path) -> None:
    con = connect()
    out = tmp_path / "t.parquet"
    con.execute(f"copy (select 42 as answer) to '{out}'")
    assert con.execute(f"select answer from '{out}'").fetchone() == (42,)


def test_the_types_the_journals_read_are_those_duckdb_made(tmp_path: Path) -> None:
    """`Table.types` spares the catalogue query on every ingest; it must say what DuckDB itself made of the DDL."""
    from llamune_eval.store import schema
    from llamune_eval.store.results import Store

    with Store(tmp_path / "s.duckdb") as store:
        for table in schema.TABLES:
            made = dict(store.con.execute(
                "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ? "
                "ORDER BY ordinal_position", [table.name]).fetchall())  # fmt: skip
            assert table.types == made
            assert list(made) == list(table.columns)
