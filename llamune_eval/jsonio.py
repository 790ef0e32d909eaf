"""Strict JSON (RFC 8259) for every file and `--json` output we write: no NaN, no Infinity.

A figure that cannot be computed is None in our typed rows, with the reason beside it; `dumps` still turns any
non-finite float that slips through into null and refuses to write anything a strict parser would reject.
Standard library only: the chat runtime uses it too.
"""

from __future__ import annotations

import dataclasses
import json
import math
from datetime import date, datetime
from enum import Enum
from pathlib import Path
from typing import Any


def clean(value: Any) -> Any:
    """Plain JSON data: dataclasses and pydantic models as objects, tuples and sets as arrays, paths and times as
    strings, non-finite floats as None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, Enum):
        return clean(value.value)
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    if isinstance(value, set | frozenset):
        return [clean(v) for v in sorted(value, key=str)]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: clean(getattr(value, f.name)) for f in dataclasses.fields(value)}
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return clean(dump(mode="json", by_alias=True))
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item):
        return clean(item())
    return str(value)


def dumps(value: Any, *, indent: int | None = None, sort_keys: bool = False) -> str:
    """JSON text that every strict parser accepts (UTF-8 characters kept as they are)."""
    return json.dumps(clean(value), ensure_ascii=False, allow_nan=False, indent=indent, sort_keys=sort_keys)


def _reject(constant: str) -> Any:
    raise ValueError(f"not RFC 8259 JSON: {constant}")


def loads(text: str | bytes) -> Any:
    """Parse JSON as RFC 8259 has it: NaN, Infinity and -Infinity are errors."""
    return json.loads(text, parse_constant=_reject)
