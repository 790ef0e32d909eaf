"""Strict JSON: every file and `--json` output parses under RFC 8259 — no NaN, no Infinity."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest

from llamune_eval import jsonio
from llamune_eval.types import ChatResult, FinishReason


@dataclass
class Row:
    value: float | None
    ci: tuple[float, float]


def test_non_finite_numbers_become_null_and_the_text_is_strict() -> None:
    text = jsonio.dumps({"a": math.nan, "b": [math.inf, -math.inf, 1.5], "row": Row(math.nan, (0.1, math.nan)),
                         "when": datetime(2026, 11, 30), "path": Path("x/y"), "set": {"b", "a"}})  # fmt: skip
    assert jsonio.loads(text) == {"a": None, "b": [None, None, 1.5], "row": {"value": None, "ci": [0.1, None]},
                                  "when": "2026-11-30T00:00:00", "path": "x/y", "set": ["a", "b"]}  # fmt: skip


def test_models_keep_their_fields_and_japanese_stays_readable() -> None:
    result = ChatResult(text="東京", finish_reason=FinishReason.STOP, model="m", endpoint="e", ttft_s=math.nan)
    data = jsonio.loads(jsonio.dumps(result))
    assert data["text"] == "東京" and data["ttft_s"] is None and data["finish_reason"] == "stop"
    assert "東京" in jsonio.dumps(result)


@pytest.mark.parametrize("bad", ['{"x": NaN}', '{"x": Infinity}', "[-Infinity]"])
def test_the_strict_parser_rejects_what_rfc_8259_has_not(bad: str) -> None:
    with pytest.raises(ValueError, match="RFC 8259"):
        jsonio.loads(bad)
