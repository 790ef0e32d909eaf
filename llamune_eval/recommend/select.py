"""Choosing, for one hardware tier: the main model (best quality/speed trade-off on the Pareto front), the
cross-check models most likely to catch its mistakes, and how many may run at once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from llamune_eval.recommend.evidence import Config
from llamune_eval.types import InputError


@dataclass
class TierChoice:
    memory_gb: int
    main: Config
    cross_checks: list[tuple[Config, float]]  # config, share of the main model's mistakes it gets right
    concurrent_limit: int
    front: list[str]
    memory: dict[str, int]


def pareto_front(configs: list[Config]) -> list[Config]:
    """Configurations no other one beats on both quality (higher) and latency (lower)."""
    return [
        c
        for c in configs
        if not any(
            o.quality >= c.quality
            and o.latency_s <= c.latency_s
            and (o.quality > c.quality or o.latency_s < c.latency_s)
            for o in configs
        )
    ]


def _score(c: Config, pool: list[Config], wq: float, wl: float) -> float:
    qs, ls = [p.quality for p in pool], [p.latency_s for p in pool]
    q = (c.quality - min(qs)) / (max(qs) - min(qs)) if max(qs) > min(qs) else 1.0
    lat = (c.latency_s - min(ls)) / (max(ls) - min(ls)) if max(ls) > min(ls) else 0.0
    return wq * q - wl * lat


def catches(main: Config, other: Config) -> tuple[float, int]:
    """Share of the items the main configuration gets wrong that `other` gets right, and how many were shared."""
    wrong = [k for k, ok in main.right.items() if not ok and k in other.right]
    if not wrong:
        return 0.0, 0
    return sum(other.right[k] for k in wrong) / len(wrong), len(wrong)


def choose(configs: list[Config], memory: dict[str, int], tier_gb: int, opts: Any) -> TierChoice:
    budget = int(tier_gb * opts.headroom * 1024**3)
    fitting = [c for c in configs if memory.get(c.model, budget + 1) <= budget]
    if not fitting:
        raise InputError(f"tier {tier_gb} GB: no evaluated model fits in {opts.headroom:.0%} of its memory")
    front = pareto_front(fitting)
    main = max(front, key=lambda c: (_score(c, fitting, opts.quality_weight, opts.latency_weight), c.quality))
    best_per_model: dict[str, Config] = {}
    for c in fitting:
        if c.model != main.model and (c.model not in best_per_model or c.quality > best_per_model[c.model].quality):
            best_per_model[c.model] = c
    ranked = sorted(((c, *catches(main, c)) for c in best_per_model.values()), key=lambda t: (-t[1], -t[0].quality))
    chosen: list[tuple[Config, float]] = []
    used = memory[main.model]
    for c, share, shared in ranked:
        if len(chosen) + 1 >= opts.max_models:
            break
        if shared == 0 or share == 0:
            continue  # a model that fails wherever the main model fails catches nothing
        if used + memory[c.model] <= budget:
            chosen.append((c, share))
            used += memory[c.model]
    return TierChoice(
        tier_gb,
        main,
        chosen,
        max(1, len(chosen)),
        [c.label for c in front],
        {c.model: memory[c.model] for c in [main, *(x for x, _ in chosen)]},
    )
