"""Real datasets for the quarter: a catalog of known ones, pulling, a portable checked bundle, and the installed
data the suites load (README: "Real data")."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from llamune_eval.data.catalog import CATALOG, GROUPS, DataError, DataFile, Dataset, default_dir, expand, recognise
from llamune_eval.data.pull import pull
from llamune_eval.data.store import Manifest, import_bundle, installed, pack, verify


def data_dir(cfg: Any) -> Path:
    """`[paths] data`, else the per-user default: never inside the repository."""
    configured = cfg.paths.data
    return Path(configured).expanduser() if configured else default_dir()


__all__ = [
    "CATALOG",
    "GROUPS",
    "DataError",
    "DataFile",
    "Dataset",
    "Manifest",
    "data_dir",
    "default_dir",
    "expand",
    "import_bundle",
    "installed",
    "pack",
    "pull",
    "recognise",
    "verify",
]
