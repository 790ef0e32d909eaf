"""The specification's UsageMetrics from the stored events (aggregated in DuckDB by `store.usage`).

`userRating` is the mean of the ratings given (+1 for /good, -1 for /bad), so it lies in [-1, 1];
`humanEvaluation` holds the means of /rate's three 5-level criteria (正確性, 日本語の自然さ, 有用性); `users` counts
the people (pseudonyms of the usage drops; a chat database ingested whole is one), their sessions and
conversations (questions to the main model) and their satisfaction, which `kpis` holds to the Phase 2 targets; /retry
decisions become implicit pairwise preferences (the adopted model:preset beats the one it displaced) that feed
Bradley–Terry ratings.
"""

from __future__ import annotations

from typing import Any

from llamune_eval.config import UsageTargets
from llamune_eval.scoring.stats import bradley_terry_ci
from llamune_eval.store import usage as q
from llamune_eval.store.results import Store

KPI_LABELS = {"activeUsers": "アクティブユーザー", "conversations": "会話数", "satisfaction": "ユーザー満足度"}


def kpis(who: q.People, targets: UsageTargets) -> list[dict[str, Any]]:
    """The specification's Phase 2 KPIs (アクティブユーザー 10名, 会話数 500回, ユーザー満足度 4.0/5.0) against the
    organisation's `[usage] targets`: each with its value, target and whether it is met (None: nothing rated)."""
    values: dict[str, tuple[float | None, float]] = {
        "activeUsers": (who.users, targets.active_users),
        "conversations": (who.conversations, targets.conversations),
        "satisfaction": (who.satisfaction, targets.satisfaction),
    }
    out = []
    for name, (value, target) in values.items():
        met = None if value is None else value >= target
        out.append({"name": name, "label": KPI_LABELS[name], "value": value, "target": target, "met": met})
    return out


def usage_metrics(
    store: Store, quarter: str | None = None, seed: int = 0, targets: UsageTargets | None = None
) -> dict[str, Any]:
    model_usage = {
        m.model: {
            "count": m.answers,
            "averageExecutionTime": m.average_latency,
            "successRate": m.success_rate,
            "userRating": m.rating,
            "ratings": m.ratings,
            "humanEvaluation": {
                "accuracy": m.accuracy,
                "naturalness": m.naturalness,
                "usefulness": m.usefulness,
                "rated": m.rated,
            },
        }
        for m in q.model_usage(store, quarter)
    }
    task_performance: dict[str, list[dict[str, Any]]] = {}
    for t in q.task_performance(store, quarter):
        task_performance.setdefault(t.category, []).append(
            {
                "model": t.model,
                "count": t.answers,
                "successRate": t.success_rate,
                "averageExecutionTime": t.average_latency,
                "userRating": t.rating,
            }
        )
    up, down = q.thumbs(store, quarter)
    adoption = {
        f"{a.model}:{a.preset}": {
            "retries": a.retries,
            "adopted": a.adopted,
            "adoptionRate": a.adopted / a.retries if a.retries else None,
        }
        for a in q.retry_adoption(store, quarter)
    }
    pairs = retry_preferences(store, quarter)
    ratings = {k: list(v) for k, v in bradley_terry_ci(pairs, seed=seed).items()} if pairs else {}
    who = q.people(store, quarter)
    return {
        "quarter": quarter,
        "users": {
            "active": who.users,
            "sessions": who.sessions,
            "conversations": who.conversations,
            "sessionsPerUser": who.sessions / who.users if who.users else None,
            "conversationsPerUser": who.conversations / who.users if who.users else None,
            "satisfaction": who.satisfaction,
            "rated": who.rated,
            "perTier": who.per_tier,
        },
        "kpis": kpis(who, targets or UsageTargets()),
        "modelUsage": model_usage,
        "taskPerformance": task_performance,
        "userFeedback": {"thumbsUp": up, "thumbsDown": down, "comments": q.comments(store, quarter)},
        "retryAdoption": adoption,
        "retryBradleyTerry": ratings,
        "retryPreferences": len(pairs),
    }


def retry_preferences(store: Store, quarter: str | None = None) -> list[tuple[str, str, float]]:
    """(winner, loser, 1.0) per model:preset for every /retry decision: the adopted answer beat the displaced one."""
    return [(w, loser, 1.0) for w, loser in q.retry_decisions(store, quarter, by_preset=True)]
