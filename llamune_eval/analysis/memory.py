"""How much memory a model needs: weights plus the KV cache of its context, estimated from the parameter count.
The decision's tier fit and the report's memory chart use this one estimate."""

from __future__ import annotations

from typing import Any

DEFAULT_CTX = 4096


def memory_need(size_bytes: int, parameter_count: int | None, num_ctx: int, kv_per_param_token: float) -> int:
    """Weights plus the KV cache for `num_ctx` tokens (parameters unknown: two per byte, as ~4-bit weights)."""
    params = parameter_count or size_bytes * 2
    return int(size_bytes + params * kv_per_param_token * num_ctx)


def parameter_count(facts: dict[str, Any]) -> int | None:
    """The exact count when an engine gave one, else the rounded size it names ('7.6B', '494M')."""
    from llamune_eval.engines.ollama import parse_parameter_size

    count = facts.get("parameter_count")
    return int(count) if count else parse_parameter_size(facts.get("parameter_size"))
