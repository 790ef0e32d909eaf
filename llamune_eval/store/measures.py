"""The measure stage in the store: timed requests (`types.Timing`) and memory footprints (`types.Footprint`), per
quarter, each written the moment it is taken so that a killed measurement resumes where it stopped."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from llamune_eval.store.results import now
from llamune_eval.store.schema import FOOTPRINTS, TIMINGS
from llamune_eval.types import Footprint, Timing

if TYPE_CHECKING:
    from llamune_eval.store.results import Store

_TIMING_FIELDS = tuple(Timing.model_fields)
_FOOTPRINT_FIELDS = tuple(Footprint.model_fields)


def _insert(store: Store, table: str, columns: tuple[str, ...], values: list[Any]) -> None:
    marks = ", ".join("?" for _ in columns)
    store.con.execute(f"INSERT OR REPLACE INTO {table} ({', '.join(columns)}) VALUES ({marks})", values)


def save_timing(store: Store, t: Timing, machine: dict[str, Any]) -> None:
    values = [getattr(t, f) for f in _TIMING_FIELDS]
    _insert(store, "timings", (*_TIMING_FIELDS, "machine", "created_at"), [*values, _json(machine), now()])


def save_footprint(store: Store, quarter: str, fp: Footprint, machine: dict[str, Any]) -> None:
    values = [getattr(fp, f) for f in _FOOTPRINT_FIELDS]
    columns = ("quarter", *_FOOTPRINT_FIELDS, "machine", "created_at")
    _insert(store, "footprints", columns, [quarter, *values, _json(machine), now()])


def clear_set(store: Store, quarter: str, set_id: str) -> None:
    """Forget a contention check's figures before it is measured again as a whole (a killed check's steps)."""
    store.con.execute(
        "DELETE FROM timings WHERE quarter = ? AND purpose = 'contention' AND set_id = ?", [quarter, set_id]
    )


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


def timings(store: Store, quarter: str | None, purpose: str | None = None) -> list[Timing]:
    """The quarter's timed requests (every quarter's with None), oldest first."""
    where, args = _where(quarter, purpose)
    cols = ", ".join(_TIMING_FIELDS)
    rows = store.con.execute(f"SELECT {cols} FROM timings{where} ORDER BY created_at", args).fetchall()
    return [Timing.model_validate(dict(zip(_TIMING_FIELDS, r, strict=True))) for r in rows]


def footprints(store: Store, quarter: str | None) -> list[Footprint]:
    where, args = _where(quarter, None)
    cols = ", ".join(_FOOTPRINT_FIELDS)
    rows = store.con.execute(f"SELECT {cols} FROM footprints{where} ORDER BY created_at DESC", args).fetchall()
    return [Footprint.model_validate(dict(zip(_FOOTPRINT_FIELDS, r, strict=True))) for r in rows]


def machine_of(store: Store, quarter: str | None, purpose: str) -> dict[str, Any] | None:
    """The machine the quarter's newest `purpose` timings were taken on."""
    where, args = _where(quarter, purpose)
    row = store.con.execute(f"SELECT machine FROM timings{where} ORDER BY created_at DESC LIMIT 1", args).fetchone()
    return orjson.loads(row[0]) if row and row[0] else None


def _where(quarter: str | None, purpose: str | None) -> tuple[str, list[Any]]:
    parts, args = [], []
    if quarter is not None:
        parts.append("quarter = ?")
        args.append(quarter)
    if purpose is not None:
        parts.append("purpose = ?")
        args.append(purpose)
    return (" WHERE " + " AND ".join(parts) if parts else ""), args


__all__ = ["FOOTPRINTS", "TIMINGS", "clear_set", "footprints", "machine_of", "save_footprint", "save_timing", "timings"]
