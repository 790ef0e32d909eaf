"""The leaderboard per suite x model x preset: headline metric with a 95% bootstrap interval, error and
parse-failure rates, judge items still pending, and median tokens/s — computed from the store alone."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from llamune_eval.benchmarks import SampleScore
from llamune_eval.benchmarks.inhouse import InHouse
from llamune_eval.benchmarks.jcommonsenseqa import JCommonsenseQA
from llamune_eval.benchmarks.jnli import JNLI
from llamune_eval.benchmarks.jsquad import JSQuAD
from llamune_eval.benchmarks.jsts import JSTS
from llamune_eval.scoring.metrics import pearson, rankdata
from llamune_eval.scoring.stats import bootstrap_ci, bootstrap_ci_paired, bootstrap_ci_pearson
from llamune_eval.store.results import Store

TASKS: dict[str, Any] = {"jcommonsenseqa": JCommonsenseQA(), "jnli": JNLI(), "jsts": JSTS(), "jsquad": JSQuAD(),
                         "inhouse": InHouse()}  # fmt: skip
# per-sample value whose mean is the headline metric; JSTS's Pearson resamples (pred, gold) pairs instead
MEAN_FIELD = {"accuracy": "correct", "f1": "f1", "em": "em", "pass_rate": "pass"}


@dataclass
class LeaderboardRow:
    suite: str
    model: str
    preset: str
    metric: str
    value: float
    ci_low: float
    ci_high: float
    n: int
    errors: int
    error_rate: float
    parse_fail_rate: float
    pending_judge: int
    median_tokens_per_s: float | None
    suite_version: str
    template_version: str
    others: dict[str, float] = field(default_factory=dict)


def _interval(metric: str, scores: Sequence[SampleScore], seed: int) -> tuple[float, float]:
    if metric in MEAN_FIELD:
        values = [s.values[MEAN_FIELD[metric]] for s in scores if MEAN_FIELD[metric] in s.values]
        return bootstrap_ci(values, seed=seed)
    pairs = [(s.values["pred"], s.values["gold"]) for s in scores if "pred" in s.values]
    if metric in ("pearson", "spearman") and pairs:
        x, y = zip(*pairs, strict=True)
        if metric == "pearson":
            return bootstrap_ci_pearson(x, y, seed=seed)
        return bootstrap_ci_paired(x, y, lambda a, b: pearson(rankdata(list(a)), rankdata(list(b))), seed=seed)
    return (math.nan, math.nan)


def leaderboard(
    store: Store,
    *,
    keys: set[str] | None = None,
    suites: Sequence[str] = (),
    models: Sequence[str] = (),
    presets: Sequence[str] = (),
    seed: int = 0,
) -> list[LeaderboardRow]:
    """Rows for the given sample keys (a run's plan) or, without keys, for each suite's newest versions."""
    rows = store.samples()
    if keys is not None:
        rows = [r for r in rows if r["key"] in keys]
    else:
        newest: dict[str, tuple[Any, str, str]] = {}
        for r in rows:
            seen = newest.get(r["suite"])
            if seen is None or r["created_at"] > seen[0]:
                newest[r["suite"]] = (r["created_at"], r["suite_version"], r["template_version"])
        rows = [r for r in rows if (r["suite_version"], r["template_version"]) == newest[r["suite"]][1:]]
    rows = [r for r in rows if (not suites or r["suite"] in suites) and (not models or r["model"] in models)
            and (not presets or r["preset"] in presets)]  # fmt: skip
    values = store.scores_for(r["key"] for r in rows if r["status"] == "ok")
    return leaderboard_rows(rows, values, seed)


def leaderboard_rows(
    rows: Sequence[dict[str, Any]], values: dict[str, dict[str, float]], seed: int = 0
) -> list[LeaderboardRow]:
    """The leaderboard of already selected sample rows and their per-sample score values."""
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault((r["suite"], r["model"], r["preset"]), []).append(r)
    out = []
    for (suite, model, preset), members in sorted(groups.items()):
        ok = [r for r in members if r["status"] == "ok"]
        task = TASKS.get(members[0]["kind"], InHouse())
        scores = [SampleScore(values=values.get(r["key"], {}), parse_ok=bool(r["parse_ok"]),
                              pending_judge=bool(r["pending_judge"])) for r in ok]  # fmt: skip
        scored = [s for s in scores if not s.pending_judge]
        agg = task.aggregate(scored) if scored else {}
        metric = task.metric
        low, high = _interval(metric, scored, seed) if scored else (math.nan, math.nan)
        rates = [r["tokens_per_s"] for r in ok if r["tokens_per_s"]]
        errors = len(members) - len(ok)
        out.append(LeaderboardRow(
            suite=suite, model=model, preset=preset, metric=metric, value=agg.get(metric, math.nan),
            ci_low=low, ci_high=high, n=len(ok), errors=errors, error_rate=errors / len(members),
            parse_fail_rate=sum(not s.parse_ok for s in scored) / len(scored) if scored else 0.0,
            pending_judge=len(scores) - len(scored), median_tokens_per_s=statistics.median(rates) if rates else None,
            suite_version=members[0]["suite_version"], template_version=members[0]["template_version"],
            others={k: v for k, v in agg.items() if k != metric},
        ))  # fmt: skip
    return out
