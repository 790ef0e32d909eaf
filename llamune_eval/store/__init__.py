"""The DuckDB store. Connections are always opened through `connect`, which keeps DuckDB offline."""

from llamune_eval.store._duckdb import OFFLINE_SETTINGS, connect

__all__ = ["OFFLINE_SETTINGS", "connect"]
