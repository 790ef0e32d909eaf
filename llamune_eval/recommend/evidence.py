"""What the recommendation rests on, read from the store: quality, latency and per-item correctness for every
model × preset configuration, and each model's memory need."""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import dataclass, field
from typing import Any

from llamune_eval.runner.leaderboard import leaderboard
from llamune_eval.store.results import Store

CORRECT = {"correct": 0.5, "pass": 0.5, "f1": 0.5}  # per-sample value -> threshold for "right"


@dataclass
class Config:
    model: str
    preset: str
    quality: float  # mean over suites of the headline metric on 0..1 (and the judge's mean score / scale)
    latency_s: float
    params: dict[str, Any]
    suites: dict[str, dict[str, Any]] = field(default_factory=dict)  # suite -> value, interval, n, versions
    right: dict[tuple[str, str, int], bool] = field(default_factory=dict)  # (suite, item, repeat) -> right?
    categories: dict[str, float] = field(default_factory=dict)
    run_ids: set[str] = field(default_factory=set)

    @property
    def label(self) -> str:
        return f"{self.model}:{self.preset}"


def _unit(metric: str, value: float) -> float:
    if math.isnan(value):
        return math.nan
    return max(0.0, value) if metric in ("pearson", "spearman") else value


def gather(store: Store) -> dict[tuple[str, str], Config]:
    """Every configuration with scored samples in the store (each suite's newest data and template version)."""
    rows = leaderboard(store)
    samples = store.samples("status = 'ok'")
    scores = store.scores_for(s["key"] for s in samples)
    out: dict[tuple[str, str], Config] = {}
    per_suite: dict[tuple[str, str], list[tuple[str, float]]] = {}
    for r in rows:
        if math.isnan(r.value):
            continue
        per_suite.setdefault((r.model, r.preset), []).append((r.suite, _unit(r.metric, r.value)))
    by_config: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for s in samples:
        by_config.setdefault((s["model"], s["preset"]), []).append(s)
    for key, suites in per_suite.items():
        members = by_config.get(key, [])
        latencies = [s["latency_s"] for s in members if s["latency_s"]]
        if not latencies:
            continue
        cfg = Config(
            model=key[0],
            preset=key[1],
            quality=statistics.fmean(v for _, v in suites),
            latency_s=statistics.median(latencies),
            params=json.loads(members[0]["params"] or "{}"),
        )
        for r in rows:
            if (r.model, r.preset) == key:
                cfg.suites[r.suite] = {
                    "metric": r.metric,
                    "value": r.value,
                    "ci": [r.ci_low, r.ci_high],
                    "n": r.n,
                    "suite_version": r.suite_version,
                    "template_version": r.template_version,
                }
        by_category: dict[str, list[float]] = {}
        for s in members:
            values = scores.get(s["key"], {})
            for name, threshold in CORRECT.items():
                if name in values:
                    cfg.right[(s["suite"], s["item_id"], s["repeat"])] = values[name] >= threshold
                    by_category.setdefault(s["category"] or "general", []).append(values[name])
                    break
            cfg.run_ids.add(s["run_id"])
        cfg.categories = {c: statistics.fmean(v) for c, v in by_category.items()}
        out[key] = cfg
    _add_judge(store, out)
    return out


def _add_judge(store: Store, configs: dict[tuple[str, str], Config]) -> None:
    """Judge scores count as one more quality figure (normalised by the scale)."""
    try:
        rows = store.judgements("ok AND mode <> 'pairwise' AND trial = 0")
    except Exception:
        return
    by: dict[tuple[str, str], list[float]] = {}
    for r in rows:
        by.setdefault((r["model"], r["preset"]), []).append(r["overall"] / r["scale"])
    for key, values in by.items():
        cfg = configs.get(key)
        if cfg is None:
            continue
        n = len(cfg.suites)
        judge = statistics.fmean(values)
        cfg.quality = (cfg.quality * n + judge) / (n + 1)
        cfg.suites["judge"] = {"metric": "judge_score", "value": judge, "n": len(values)}


def memory_need(size_bytes: int, parameter_count: int | None, num_ctx: int, kv_per_param_token: float) -> int:
    """Weights plus the KV cache for `num_ctx` tokens (estimated from the parameter count)."""
    params = parameter_count or size_bytes * 2  # ~4-bit weights: two parameters per byte
    return int(size_bytes + params * kv_per_param_token * num_ctx)
