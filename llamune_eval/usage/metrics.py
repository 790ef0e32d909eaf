"""The specification's UsageMetrics from the stored events (aggregated in DuckDB by `store.usage`).

`userRating` is the mean of the ratings given (+1 for /good, -1 for /bad), so it lies in [-1, 1];
`humanEvaluation` holds the means of /rate's three 5-level criteria (正確性, 日本語の自然さ, 有用性); /retry
decisions become implicit pairwise preferences (the adopted model:preset beats the one it displaced) that feed
Bradley–Terry ratings.
"""

from __future__ import annotations

from typing import Any

from llamune_eval.scoring.stats import bradley_terry_ci
from llamune_eval.store import usage as q
from llamune_eval.store.results import Store


def usage_metrics(store: Store, quarter: str | None = None, seed: int = 0) -> dict[str, Any]:
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
    return {
        "quarter": quarter,
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
