"""The report's content as data: leaderboard with significance against the best configuration, quality against
speed with the Pareto front, memory, heat map, preset effects, judge reliability and usage. `report --format
json` writes exactly this; the HTML is rendered from it."""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from llamune_eval.config import Config
from llamune_eval.report.samples import BINARY, PAIRED, Selection, select
from llamune_eval.runner.leaderboard import leaderboard_rows
from llamune_eval.scoring.stats import bootstrap_ci, holm, mcnemar_exact, paired_bootstrap
from llamune_eval.store.results import Store

SCHEMA_VERSION = "llamune-report-1"
ALPHA = 0.05


def _num(value: Any) -> float | None:
    """JSON has no NaN: missing figures are null."""
    if value is None or (isinstance(value, float) and (math.isnan(value) or math.isinf(value))):
        return None
    return float(value)


def unit(metric: str, value: float | None) -> float | None:
    """A headline value on 0..1 for colour and averaging (negative correlations count as 0)."""
    if value is None:
        return None
    return max(0.0, min(1.0, value)) if metric in ("pearson", "spearman") else value


def _paired(kind: str, a: dict[Any, float], b: dict[Any, float], judged: bool, seed: int) -> tuple[int, float, float]:
    """(items shared, mean difference a - b as 'better', two-sided p) on the items both configurations answered."""
    common = sorted(set(a) & set(b))
    if not common:
        return 0, math.nan, math.nan
    sign = -1.0 if PAIRED.get(kind) == "abs_error" and not judged else 1.0
    xa, xb = [sign * a[k] for k in common], [sign * b[k] for k in common]
    diff = statistics.fmean(xa) - statistics.fmean(xb)
    if PAIRED.get(kind) in BINARY and not judged:
        return len(common), diff, mcnemar_exact([x >= 0.5 for x in xa], [x >= 0.5 for x in xb])
    return len(common), diff, paired_bootstrap(xa, xb, resamples=2000, seed=seed)[3]


def leaderboard_section(sel: Selection, seed: int) -> list[dict[str, Any]]:
    """Per suite: every configuration with its interval, and the paired test against the suite's best one."""
    rows = leaderboard_rows(sel.rows, sel.values, seed)
    paired, judged_suites, kinds = sel.paired, sel.judged_suites, sel.kinds
    suites: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        entry = {
            "model": row.model, "preset": row.preset, "metric": row.metric, "value": _num(row.value),
            "ci": [_num(row.ci_low), _num(row.ci_high)], "n": row.n, "errors": row.errors,
            "errorRate": row.error_rate, "parseFailRate": row.parse_fail_rate, "pendingJudge": row.pending_judge,
            "tokensPerS": _num(row.median_tokens_per_s),
        }  # fmt: skip
        if row.suite in judged_suites:  # judged suites: the judge's mean share of the scale is the headline
            judged = list(paired.get((row.suite, row.model, row.preset), {}).values())
            entry |= {"metric": "judge", "value": statistics.fmean(judged) if judged else None,
                      "ci": [_num(x) for x in bootstrap_ci(judged, seed=seed)] if judged else [None, None],
                      "n": len(judged)}  # fmt: skip
        suites.setdefault(row.suite, []).append(entry)
    out = []
    for suite, entries in suites.items():
        scored = [e for e in entries if e["value"] is not None]
        scored.sort(key=lambda e: -e["value"])
        best = scored[0] if scored else None
        tests = []
        for e in entries:
            e["unit"] = unit(e["metric"], e["value"])
            if best is None or e is best:
                e["vsBest"] = {"best": e is best}
                continue
            n, diff, p = _paired(kinds[suite], paired.get((suite, e["model"], e["preset"]), {}),
                                 paired.get((suite, best["model"], best["preset"]), {}), suite in judged_suites,
                                 seed)  # fmt: skip
            e["vsBest"] = {"best": False, "n": n, "diff": _num(diff), "p": _num(p)}
            if not math.isnan(p):
                tests.append(e)
        for e, adjusted in zip(tests, holm([e["vsBest"]["p"] for e in tests]), strict=True):
            e["vsBest"]["pHolm"] = adjusted
            e["vsBest"]["worse"] = adjusted < ALPHA and (e["vsBest"]["diff"] or 0) < 0
        entries.sort(key=lambda e: (e["value"] is None, -(e["value"] or 0)))
        out.append({"suite": suite, "kind": kinds[suite], "metric": entries[0]["metric"], "rows": entries,
                    "best": f"{best['model']}:{best['preset']}" if best else None})  # fmt: skip
    return out


def _front(points: list[dict[str, Any]], x: str, higher_x: bool) -> set[str]:
    """Labels of points no other point beats on quality and on `x` (higher or lower is better)."""
    ok = [p for p in points if p["quality"] is not None and p[x] is not None]

    def beats(o: dict[str, Any], c: dict[str, Any]) -> bool:
        ox, cx = (o[x], c[x]) if higher_x else (-o[x], -c[x])
        return bool(o["quality"] >= c["quality"] and ox >= cx and (o["quality"] > c["quality"] or ox > cx))

    return {c["label"] for c in ok if not any(beats(o, c) for o in ok)}


def configs_section(sel: Selection, board: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One point per model x preset: mean quality over suites, median tokens/s, TTFT and latency; Pareto flags."""
    by: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in sel.rows:
        if r["status"] == "ok":
            by.setdefault((r["model"], r["preset"]), []).append(r)
    quality: dict[tuple[str, str], list[float]] = {}
    for suite in board:
        for e in suite["rows"]:
            if e["unit"] is not None:
                quality.setdefault((e["model"], e["preset"]), []).append(e["unit"])
    points = []
    for (model, preset), rows in sorted(by.items()):

        def median(name: str, rows: Sequence[dict[str, Any]] = rows) -> float | None:
            got = [r[name] for r in rows if r[name]]
            return statistics.median(got) if got else None

        q = quality.get((model, preset))
        points.append({"label": f"{model}:{preset}", "model": model, "preset": preset,
                       "quality": statistics.fmean(q) if q else None, "suites": len(q or []),
                       "tokensPerS": median("tokens_per_s"), "ttftS": median("ttft_s"),
                       "latencyS": median("latency_s"), "samples": len(rows)})  # fmt: skip
    fast = _front(points, "tokensPerS", higher_x=True)
    quick = _front(points, "ttftS", higher_x=False)
    for p in points:
        p["paretoTokensPerS"] = p["label"] in fast
        p["paretoTtft"] = p["label"] in quick
    return points


def memory_section(store: Store, cfg: Config, sel: Selection) -> list[dict[str, Any]]:
    """Per model: file size and the estimated need with the KV cache of its largest context (as `recommend`)."""
    from llamune_eval.engines.ollama import parse_parameter_size
    from llamune_eval.recommend.evidence import memory_need

    facts: dict[str, dict[str, Any]] = {}
    for (plan,) in store.con.execute("SELECT plan FROM runs ORDER BY started_at").fetchall():
        facts |= (json.loads(plan) if plan else {}).get("model_facts", {})
    ctx: dict[str, int] = {}
    for model, params_json in {(r["model"], r["params"]) for r in sel.rows}:  # each parameter set parsed once
        num_ctx = int(json.loads(params_json or "{}").get("num_ctx") or 4096)
        ctx[model] = max(ctx.get(model, 0), num_ctx)
    out = []
    for model in sorted(ctx):
        f = facts.get(model, {})
        size = f.get("size_bytes") or cfg.recommend.model_sizes.get(model)
        params = f.get("parameter_count") or parse_parameter_size(f.get("parameter_size"))
        need = memory_need(size, params, ctx[model], cfg.recommend.kv_bytes_per_param_token) if size else None
        out.append({"model": model, "sizeBytes": size, "parameterCount": params, "quantization": f.get("quantization"),
                    "family": f.get("family"), "numCtx": ctx[model], "needBytes": need})  # fmt: skip
    return out


def heatmap_section(board: list[dict[str, Any]], configs: list[dict[str, Any]]) -> dict[str, Any]:
    labels = [c["label"] for c in configs]
    cells = []
    for suite in board:
        by = {f"{e['model']}:{e['preset']}": e for e in suite["rows"]}
        cells.append([{"unit": by[c]["unit"], "value": by[c]["value"]} if c in by else None for c in labels])
    return {"suites": [s["suite"] for s in board], "metrics": [s["metric"] for s in board], "configs": labels,
            "cells": cells}  # fmt: skip


def preset_effect_section(sel: Selection, board: list[dict[str, Any]], seed: int) -> list[dict[str, Any]]:
    """Per model with several presets: each preset against the model's baseline (balanced, else the first), per
    suite, with a paired test Holm-corrected within the model."""
    paired, judged_suites, kinds = sel.paired, sel.judged_suites, sel.kinds
    presets: dict[str, list[str]] = {}
    for r in sel.rows:
        if r["preset"] not in presets.setdefault(r["model"], []):
            presets[r["model"]].append(r["preset"])
    out = []
    for model, names in sorted(presets.items()):
        if len(names) < 2:
            continue
        base = "balanced" if "balanced" in names else names[0]
        cells: list[dict[str, Any]] = []
        for preset in (p for p in names if p != base):
            for suite in board:
                mine = next((e for e in suite["rows"] if e["model"] == model and e["preset"] == preset), None)
                theirs = next((e for e in suite["rows"] if e["model"] == model and e["preset"] == base), None)
                if mine is None or theirs is None or mine["unit"] is None or theirs["unit"] is None:
                    continue
                n, _, p = _paired(kinds[suite["suite"]], paired.get((suite["suite"], model, preset), {}),
                                  paired.get((suite["suite"], model, base), {}), suite["suite"] in judged_suites,
                                  seed)  # fmt: skip
                cells.append({"preset": preset, "suite": suite["suite"], "delta": mine["unit"] - theirs["unit"],
                              "n": n, "p": _num(p)})  # fmt: skip
        tested = [c for c in cells if c["p"] is not None]
        for c, adjusted in zip(tested, holm([c["p"] for c in tested]), strict=True):
            c["pHolm"] = adjusted
            c["significant"] = adjusted < ALPHA
        out.append({"model": model, "base": base, "presets": [p for p in names if p != base], "cells": cells})
    return out


def judge_section(store: Store, cfg: Config) -> dict[str, Any] | None:
    """Reliability figures recomputed over every stored judgement (a judge run's snapshot may be older)."""
    from llamune_eval.runner.judging import judge_figures
    from llamune_eval.scoring.reliability import score_summary

    rows = store.judgements("error_kind IS NULL")
    if not rows:
        return None
    summary = score_summary(rows)
    return {"figures": judge_figures(store, cfg), "scores": [s for s in summary if "suite" in s],
            "panelDisagreement": next((s["panel_disagreement"] for s in summary if "panel_disagreement" in s), None),
            "judges": sorted({r["judge_model"] for r in rows})}  # fmt: skip


def usage_section(store: Store, quarter: str, seed: int) -> dict[str, Any] | None:
    """The usage of the quarter before the report's (the data the quarter's choice rests on), else of all time."""
    from llamune_eval.usage import usage_metrics
    from llamune_eval.usage.ingest import SCHEMA
    from llamune_eval.usage.metrics import QUARTER

    store.con.execute(SCHEMA)
    per_quarter = store.con.execute(
        f"SELECT {QUARTER} AS q, count(*) FROM usage_events GROUP BY q ORDER BY q"
    ).fetchall()
    if not per_quarter:
        return None
    from llamune_eval.settings import previous_quarter

    data_quarter = previous_quarter(quarter)
    chosen = data_quarter if any(q == data_quarter for q, _ in per_quarter) else None
    metrics = usage_metrics(store, chosen, seed=seed)
    metrics["period"] = chosen or "all"
    metrics["eventsPerQuarter"] = {q: n for q, n in per_quarter}
    return metrics


def collect(store: Store, cfg: Config, quarter: str) -> dict[str, Any]:
    """Everything the report shows, as JSON-ready data (settings from `[paths] recommended`, earlier quarters'
    reports from `[paths] reports`)."""
    from llamune_eval.report.browser import browser_section
    from llamune_eval.report.history import history_section
    from llamune_eval.report.summary import summary_section

    seed = cfg.run.seed
    sel = select(store)
    board = leaderboard_section(sel, seed)
    configs = configs_section(sel, board)
    browser = browser_section(sel)
    runs = [{k: (str(v) if isinstance(v, datetime) else v) for k, v in r.items()} for r in store.runs()]
    return {
        "schema": SCHEMA_VERSION,
        "quarter": quarter,
        "generatedAt": datetime.now(UTC).isoformat(timespec="seconds"),
        "runs": runs,
        "counts": {
            "samples": len(sel.rows),
            "errors": sum(r["status"] != "ok" for r in sel.rows),
            "suites": len(board),
            "configs": len(configs),
            "models": len({c["model"] for c in configs}),
        },
        "summary": summary_section(cfg.paths.recommended, quarter),
        "leaderboard": board,
        "configs": configs,
        "memory": memory_section(store, cfg, sel),
        "heatmap": heatmap_section(board, configs),
        "presetEffect": preset_effect_section(sel, board, seed),
        "judge": judge_section(store, cfg),
        "usage": usage_section(store, quarter, seed),
        "history": history_section(cfg.paths.reports, quarter, browser, board),
        "browser": browser,
    }
