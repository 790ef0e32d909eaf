"""The specification's UsageMetrics from the stored events, aggregated in DuckDB.

`userRating` is the mean of the ratings given (+1 for /good, -1 for /bad), so it lies in [-1, 1];
`humanEvaluation` holds the means of /rate's three 5-level criteria (正確性, 日本語の自然さ, 有用性); /retry
decisions become implicit pairwise preferences (the adopted model:preset beats the one it displaced) that feed
Bradley–Terry ratings.
"""

from __future__ import annotations

from typing import Any

from llamune_eval.scoring.stats import bradley_terry_ci
from llamune_eval.store.results import Store
from llamune_eval.store.schema import USAGE_SCHEMA as SCHEMA
from llamune_eval.store.usage import retry_decisions

QUARTER = "strftime(created_at, '%Y') || '-Q' || quarter(created_at)"


def _where(quarter: str | None) -> tuple[str, list[Any]]:
    return (f"WHERE {QUARTER} = ?", [quarter]) if quarter else ("", [])


def usage_metrics(store: Store, quarter: str | None = None, seed: int = 0) -> dict[str, Any]:
    store.con.execute(SCHEMA)
    where, params = _where(quarter)
    answers = f"{where} {'AND' if where else 'WHERE'} kind IN ('main', 'background', 'retry')"
    con = store.con
    model_usage = {
        model: {"count": count, "averageExecutionTime": avg_latency, "successRate": success,
                "userRating": rating, "ratings": rated,
                "humanEvaluation": {"accuracy": accuracy, "naturalness": naturalness, "usefulness": usefulness,
                                    "rated": levels}}
        for model, count, avg_latency, success, rating, rated, accuracy, naturalness, usefulness, levels
        in con.execute(
            "SELECT model, count(*), avg(latency_s), avg(success::INT), avg(rating), count(rating), avg(accuracy), "
            "avg(naturalness), avg(usefulness), count(*) FILTER (WHERE coalesce(accuracy, naturalness, usefulness) "
            f"IS NOT NULL) FROM usage_events {answers} GROUP BY model ORDER BY count(*) DESC", params).fetchall()
    }  # fmt: skip
    task_performance: dict[str, list[dict[str, Any]]] = {}
    for category, model, count, success, latency, rating in con.execute(
        "SELECT coalesce(category, 'uncategorised'), model, count(*), avg(success::INT), avg(latency_s), avg(rating) "
        f"FROM usage_events {answers} GROUP BY ALL ORDER BY 1, 3 DESC", params
    ).fetchall():  # fmt: skip
        task_performance.setdefault(category, []).append(
            {
                "model": model,
                "count": count,
                "successRate": success,
                "averageExecutionTime": latency,
                "userRating": rating,
            }
        )
    up, down = con.execute(
        f"SELECT count(*) FILTER (WHERE rating > 0), count(*) FILTER (WHERE rating < 0) FROM usage_events {where}",
        params,
    ).fetchone() or (0, 0)
    comments = [c for (c,) in con.execute(
        f"SELECT comment FROM usage_events {where} {'AND' if where else 'WHERE'} comment IS NOT NULL "
        "ORDER BY created_at", params).fetchall()]  # fmt: skip
    adoption = {
        f"{model}:{preset}": {"retries": n, "adopted": adopted, "adoptionRate": adopted / n if n else None}
        for model, preset, n, adopted in con.execute(
            f"SELECT model, coalesce(preset, ''), count(*), count(*) FILTER (WHERE adopted) FROM usage_events "
            f"{where} {'AND' if where else 'WHERE'} kind = 'retry' AND adopted IS NOT NULL GROUP BY ALL", params,
        ).fetchall()
    }  # fmt: skip
    pairs = retry_preferences(store, quarter)
    ratings = {k: list(v) for k, v in bradley_terry_ci(pairs, seed=seed).items()} if pairs else {}
    return {
        "quarter": quarter, "modelUsage": model_usage, "taskPerformance": task_performance,
        "userFeedback": {"thumbsUp": up, "thumbsDown": down, "comments": comments},
        "retryAdoption": adoption, "retryBradleyTerry": ratings, "retryPreferences": len(pairs),
    }  # fmt: skip


def retry_preferences(store: Store, quarter: str | None = None) -> list[tuple[str, str, float]]:
    """(winner, loser, 1.0) per model:preset for every /retry decision: the adopted answer beat the displaced one."""
    return [(w, loser, 1.0) for w, loser in retry_decisions(store, quarter, by_preset=True)]
