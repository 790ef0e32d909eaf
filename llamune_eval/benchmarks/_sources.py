"""Reading suite data: JSON Lines, JSON, YAML with errors that name the file and line; Hugging Face datasets
offline from the local cache."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from llamune_eval.benchmarks._suite import SuiteError
from llamune_eval.data.catalog import DataError
from llamune_eval.data.hf import HF_PREFIX, hub_rows

__all__ = ["HF_PREFIX", "load_hf"]


def data_version(rows: list[dict[str, Any]]) -> str:
    """A short content hash: stored samples are keyed by it, so edited data never mixes with old results."""
    clean = [{k: v for k, v in r.items() if k != "__line__"} for r in rows]
    blob = json.dumps(clean, ensure_ascii=False, sort_keys=True, default=str)
    return "d" + hashlib.sha256(blob.encode()).hexdigest()[:12]


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SuiteError(f"{path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise _not_utf8(path, exc) from exc
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise SuiteError(f"{path}:{n}: invalid JSON ({exc.msg} at column {exc.colno})") from exc
        if not isinstance(row, dict):
            raise SuiteError(f"{path}:{n}: expected a JSON object, got {type(row).__name__}")
        row["__line__"] = n
        rows.append(row)
    return rows


def _not_utf8(path: Path, exc: UnicodeDecodeError) -> SuiteError:
    return SuiteError(f"{path}: not UTF-8 ({exc.reason} at byte {exc.start})")


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SuiteError(f"{path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise _not_utf8(path, exc) from exc
    except json.JSONDecodeError as exc:
        raise SuiteError(f"{path}:{exc.lineno}: invalid JSON ({exc.msg} at column {exc.colno})") from exc


def read_yaml(path: Path) -> Any:
    import yaml

    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SuiteError(f"{path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise _not_utf8(path, exc) from exc
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        raise SuiteError(f"{where}: invalid YAML ({exc.problem})") from exc
    except yaml.YAMLError as exc:
        raise SuiteError(f"{path}: invalid YAML ({exc})") from exc


def require(row: dict[str, Any], field: str, where: str, kind: type | tuple[type, ...] = str) -> Any:
    """A required field of the right type, or an error naming file, line and field."""
    if field not in row or row[field] is None:
        raise SuiteError(f"{where}: missing field {field!r}")
    value = row[field]
    if not isinstance(value, kind) or (isinstance(value, bool) and bool not in _as_tuple(kind)):
        names = "/".join(t.__name__ for t in _as_tuple(kind))
        raise SuiteError(f"{where}: field {field!r} should be {names}, got {type(value).__name__}")
    return value


def _as_tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def where(path: Path, row: dict[str, Any]) -> str:
    line = row.get("__line__")
    return f"{path}:{line}" if line else str(path)


def load_hf(source: str, split: str) -> list[dict[str, Any]]:
    """A suite's rows from `hf:<dataset id>[:<config>]` (`data.hf`); a failure is the suite's one-line error."""
    try:
        return hub_rows(source, split)
    except DataError as exc:
        raise SuiteError(str(exc)) from exc
