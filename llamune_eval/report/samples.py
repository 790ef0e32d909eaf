"""Stored texts as the report shows them. Which samples a report is about is the store's one selection rule
(`store.selection`), read through `analysis.Evidence`."""

from __future__ import annotations

import json
from typing import Any


def text_of(raw: Any) -> str:
    """A stored JSON list of turns or answers as one text (turns separated by a rule)."""
    if raw is None:
        return ""
    try:
        value = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return str(raw)
    if isinstance(value, list):
        return "\n\n――――\n\n".join(str(v) for v in value)
    if isinstance(value, dict | int | float):
        return json.dumps(value, ensure_ascii=False)
    return str(value)
