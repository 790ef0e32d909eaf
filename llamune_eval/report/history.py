"""Quarter over quarter, from the earlier quarters' `reports/<quarter>/report.json` (each report keeps its data
beside its HTML for this): each model's quality on the suites every compared quarter ran, and the items a
configuration answered right last quarter and wrong now. Earlier files are read through `document.upgrade` into
the `Report` model, never by key, so a renamed field fails at the model, not silently here."""

from __future__ import annotations

import statistics
from pathlib import Path

from llamune_eval import jsonio
from llamune_eval.report.browser import verdicts
from llamune_eval.report.document import Browser, History, LeaderboardSuite, Regression, Report, upgrade

MAX_QUARTERS = 8
MAX_REGRESSIONS = 500


def earlier_reports(reports: Path, quarter: str) -> list[tuple[str, Report]]:
    """Readable report.json files of quarters before `quarter`, oldest first (unreadable ones, and versions this
    release cannot read, are skipped)."""
    found = []
    for path in sorted(reports.glob("*/report.json")):
        q = path.parent.name
        if q >= quarter:
            continue
        try:
            raw = jsonio.loads(path.read_bytes())
        except (OSError, ValueError, RecursionError):
            continue
        report = upgrade(raw)
        if report is not None:
            found.append((q, report))
    return found[-MAX_QUARTERS:]


def _model_scores(board: list[LeaderboardSuite]) -> dict[str, dict[str, float]]:
    """model -> suite -> its best preset's value on 0..1."""
    out: dict[str, dict[str, float]] = {}
    for suite in board:
        for e in suite.rows:
            if e.unit is None:
                continue
            seen = out.setdefault(e.model, {}).get(suite.suite)
            if seen is None or e.unit > seen:
                out[e.model][suite.suite] = e.unit
    return out


def history_section(reports: Path, quarter: str, browser: Browser, board: list[LeaderboardSuite]) -> History:
    earlier = earlier_reports(reports, quarter)
    series = [(q, _model_scores(r.leaderboard)) for q, r in earlier] + [(quarter, _model_scores(board))]
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
    out = History(
        quarters=[q for q, _ in series],
        common_suites=sorted(common),
        trend=trend,
        previous=earlier[-1][0] if earlier else None,
    )
    if earlier:
        before = verdicts(earlier[-1][1].browser)
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
                    Regression(suite=suite, item=item, repeat=repeat, config=config, before=old[1], after=answer)
                )
            elif old[0] == "w" and code == "r":
                improved += 1
        out.regressions, out.regressed_count, out.improved = regressions[:MAX_REGRESSIONS], len(regressions), improved
    return out
