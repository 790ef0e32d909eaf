"""How much memory a model needs: weights plus the KV cache of its context, estimated from the parameter count.
The decision's tier fit and the report's memory chart use this one estimate."""

from __future__ import annotations

from typing import Any

from llamune_eval.types import SamplingParams, parse_parameter_size

DEFAULT_CTX = 4096


def memory_need(size_bytes: int, parameter_count: int | None, num_ctx: int, kv_per_param_token: float) -> int:
    """Weights plus the KV cache for `num_ctx` tokens (parameters unknown: two per byte, as ~4-bit weights)."""
    params = parameter_count or size_bytes * 2
    return int(size_bytes + params * kv_per_param_token * num_ctx)


def parameter_count(facts: dict[str, Any]) -> int | None:
    """The exact count when an engine gave one, else the rounded size it names ('7.6B', '494M')."""
    count = facts.get("parameter_count")
    return int(count) if count else parse_parameter_size(facts.get("parameter_size"))


def context_of(params: SamplingParams | None) -> int:
    """The context a configuration runs with: its preset's `num_ctx`, else the engines' usual default."""
    return (params.num_ctx if params else None) or DEFAULT_CTX


def need_of(
    model: str, num_ctx: int, facts: dict[str, dict[str, Any]], sizes: dict[str, int], kv_per_param_token: float
) -> tuple[int | None, int | None]:
    """(file size, memory need) of `model` at `num_ctx`: the size the runs or engines recorded, else the configured
    one; (None, None) when neither knows it."""
    known = facts.get(model, {})
    size = known.get("size_bytes") or sizes.get(model)
    if not size:
        return None, None
    return int(size), memory_need(int(size), parameter_count(known), num_ctx, kv_per_param_token)
