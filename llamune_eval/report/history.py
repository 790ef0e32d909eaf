"""Quarter over quarter, from the earlier quarters' `reports/<quarter>/report.json` (each report keeps its data
beside its HTML for this): each model's quality on the suites every compared quarter ran, and the items a
configuration answered right last quarter and wrong now."""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

from llamune_eval.report.browser import verdicts

MAX_QUARTERS = 8
MAX_REGRESSIONS = 500


def earlier_reports(reports: Path, quarter: str) -> list[tuple[str, dict[str, Any]]]:
    """Readable report.json files of quarters before `quarter`, oldest first (unreadable ones are skipped)."""
    found = []
    for path in sorted(reports.glob("*/report.json")):
        q = path.parent.name
        if q >= quarter:
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and data.get("schema", "").startswith("llamune-report-"):
            found.append((q, data))
    return found[-MAX_QUARTERS:]


def _model_scores(board: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """model -> suite -> its best preset's value on 0..1."""
    out: dict[str, dict[str, float]] = {}
    for suite in board:
        for e in suite["rows"]:
            if e.get("unit") is None:
                continue
            seen = out.setdefault(e["model"], {}).get(suite["suite"])
            if seen is None or e["unit"] > seen:
                out[e["model"]][suite["suite"]] = e["unit"]
    return out


def history_section(
    reports: Path, quarter: str, browser: dict[str, Any], board: list[dict[str, Any]]
) -> dict[str, Any]:
    earlier = earlier_reports(reports, quarter)
    series = [(q, _model_scores(d.get("leaderboard", []))) for q, d in earlier] + [(quarter, _model_scores(board))]
    per_quarter_suites = [{s for scores in m.values() for s in scores} for _, m in series]
    common = set.intersection(*per_quarter_suites) if per_quarter_suites else set()
    models = sorted({m for _, scores in series for m in scores})
    trend: dict[str, list[float | None]] = {}
    for model in models:
        points: list[float | None] = []
        for _, scores in series:
            mine = scores.get(model, {})
            shared = [mine[s] for s in sorted(common) if s in mine]
            points.append(statistics.fmean(shared) if shared and len(shared) == len(common) else None)
        trend[model] = points
    out: dict[str, Any] = {
        "quarters": [q for q, _ in series],
        "commonSuites": sorted(common),
        "trend": trend,
        "previous": earlier[-1][0] if earlier else None,
        "regressions": [],
        "improved": 0,
        "regressedCount": 0,
    }
    if earlier:
        before = verdicts(earlier[-1][1].get("browser") or {"suites": [], "configs": [], "items": [], "answers": []})
        now = verdicts(browser)
        regressions = []
        improved = 0
        for key, (code, answer) in now.items():
            old = before.get(key)
            if old is None:
                continue
            if old[0] == "r" and code == "w":
                suite, item, repeat, config = key
                regressions.append(
                    {
                        "suite": suite,
                        "item": item,
                        "repeat": repeat,
                        "config": config,
                        "before": old[1],
                        "after": answer,
                    }
                )
            elif old[0] == "w" and code == "r":
                improved += 1
        out |= {"regressions": regressions[:MAX_REGRESSIONS], "regressedCount": len(regressions), "improved": improved}
    return out
