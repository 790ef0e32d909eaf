"""DuckDB kept offline: it downloads extensions at run time unless told not to.

Auto-install and auto-load are off, every extension repository points at a path that does not exist (so even an
explicit `INSTALL` cannot reach the network; DuckDB's C++ downloads would bypass Python's egress guard), and the
configuration is locked so a query cannot switch any of it back.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb

NO_REPOSITORY = "/nonexistent/llamune-eval-offline"
OFFLINE_SETTINGS: dict[str, str | bool] = {
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "allow_community_extensions": False,
    "custom_extension_repository": NO_REPOSITORY,
    "autoinstall_extension_repository": NO_REPOSITORY,
}


def connect(path: str | Path = ":memory:", *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open a DuckDB database that cannot fetch anything from the network."""
    import duckdb

    con = duckdb.connect(str(path), read_only=read_only, config=dict(OFFLINE_SETTINGS))
    con.execute("SET enable_progress_bar = false")  # DuckDB draws its own bar on stdout; our commands use rich
    con.execute("SET lock_configuration = true")  # nothing a query does can switch the offline settings back
    return con
