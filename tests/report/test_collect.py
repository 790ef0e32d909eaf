"""The report's data on stores whose answers we know: significance against the best, Pareto fronts, heat map,
preset effects, the previous quarter's regressions, JSON safety and escaping in the HTML."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from fixtures.synth import synthesize
from llamune_eval.analysis.pareto import front
from llamune_eval.config import Config
from llamune_eval.quarters import next_quarter
from llamune_eval.report import collect, make_report, render_html
from llamune_eval.report.render import safe_json
from llamune_eval.store.results import Store


def _cfg(tmp: Path) -> Config:
    return Config.model_validate({"paths": {"store": str(tmp / "s.duckdb"), "reports": str(tmp / "reports"),
                                            "recommended": str(tmp / "recommended")}})  # fmt: skip


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> tuple[Config, dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("synth")
    cfg = _cfg(tmp)
    synthesize(cfg.paths.store, 3000, extra_outputs={7: "<script>alert(1)</script>"})
    with Store(cfg.paths.store) as store:
        data = collect(store, cfg, "2026-Q4")
    return cfg, data


def test_the_strongest_model_leads_and_the_weakest_is_significantly_worse(synthetic: Any) -> None:
    _, data = synthetic
    board = {s["suite"]: s for s in data["leaderboard"]}
    qa = board["jcommonsenseqa"]
    assert qa["best"].startswith("model-d")  # model-d is built to answer right most often
    weakest = [r for r in qa["rows"] if r["model"] == "model-a:1b"]
    assert len(weakest) == 3  # its three presets: a misspelt name would select nothing
    assert all(r["vsBest"]["worse"] and r["vsBest"]["pHolm"] < 0.05 for r in weakest)
    assert all(r["ci"][0] <= r["value"] <= r["ci"][1] for r in qa["rows"])
    assert board["jsts"]["metric"] == "pearson" and board["business-writing"]["metric"] == "judge"


def test_interval_bars_are_drawn_on_the_benchmarks_own_range(synthetic: Any) -> None:
    """JSTS's Pearson r lies in -1..1, every other headline in 0..1: the range comes from the benchmark, so the same
    interval sits at different places on the two."""
    from llamune_eval.report.render import _ci_bar

    _, data = synthetic
    ranges = {s["suite"]: s["range"] for s in data["leaderboard"]}
    assert ranges["jsts"] == [-1.0, 1.0] and ranges["jnli"] == ranges["business-writing"] == [0.0, 1.0]
    assert "left:75.0%;width:12.5%" in _ci_bar([0.5, 0.75], ranges["jsts"])
    assert "left:50.0%;width:25.0%" in _ci_bar([0.5, 0.75], ranges["jnli"])
    html = render_html(data)
    jsts_row = next(r for r in next(s for s in data["leaderboard"] if s["suite"] == "jsts")["rows"] if r["ci"][0])
    assert str(_ci_bar(jsts_row["ci"], [-1.0, 1.0])) in html


def test_pareto_front_is_exactly_the_undominated_points() -> None:
    points = [{"label": k, "quality": q, "tps": t} for k, q, t in
              [("a", 0.9, 10), ("b", 0.7, 30), ("c", 0.6, 20), ("d", 0.5, 40), ("e", None, 99)]]  # fmt: skip
    assert {p["label"] for p in front(points, lambda p: (p["quality"], p["tps"]))} == {"a", "b", "d"}
    assert {p["label"] for p in front(points, lambda p: (p["quality"], -p["tps"]))} == {"a"}


def test_sections_are_complete(synthetic: Any) -> None:
    _, data = synthetic
    assert data["counts"]["configs"] == 12 and data["counts"]["models"] == 4
    assert any(c["paretoTokensPerS"] for c in data["configs"]) and any(c["paretoTtft"] for c in data["configs"])
    heat = data["heatmap"]
    assert len(heat["cells"]) == len(heat["suites"]) == 6 and all(len(r) == 12 for r in heat["cells"])
    effect = {m["model"]: m for m in data["presetEffect"]}
    assert set(effect) == {"model-a:1b", "model-b:2b", "model-c:3b", "model-d:4b"}
    assert effect["model-d:4b"]["base"] == "balanced" and effect["model-d:4b"]["presets"] == ["creative", "fast"]
    sizes = {m["model"]: m["sizeBytes"] for m in data["memory"]}
    assert sorted(sizes.values()) == [700_000_000, 1_400_000_000, 2_100_000_000, 2_800_000_000]
    for m in data["memory"]:  # nothing measured, no GGUF to read: the size times the documented factor, per context
        assert m["source"] == "size-estimate" and m["needBytes"] == int(m["sizeBytes"] * 1.2) and m["numCtx"]
    assert data["judge"]["judges"] == ["judge-x"]
    assert data["usage"] is None and data["history"]["previous"] is None
    assert data["summary"]["error"].endswith("2026-Q4`）")  # no settings yet: said, not crashed
    browser = data["browser"]
    assert len(browser["answers"]) == data["counts"]["samples"] == 3000
    assert {a[2] for a in browser["answers"]} <= {"r", "w", "e", "p"}


def test_previous_quarter_gives_trend_and_regressions(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path)
    synthesize(cfg.paths.store, 1200, seed=1)
    with Store(cfg.paths.store) as store:
        make_report(cfg, "2026-Q3", store, html=False)
    older = tmp_path / "old.duckdb"  # last quarter: the same items, stronger models
    synthesize(older, 1200, seed=1, skill_shift=0.3)
    with Store(older) as store:
        make_report(cfg, "2026-Q3", store, html=False)
    with Store(cfg.paths.store) as store:
        data = collect(store, cfg, "2026-Q4")
    history = data["history"]
    assert history["quarters"] == ["2026-Q3", "2026-Q4"] and history["previous"] == "2026-Q3"
    assert len(history["trend"]) == 4  # one series per model
    for series in history["trend"].values():
        assert series[0] is not None and series[1] is not None and series[0] > series[1]
    assert history["regressedCount"] > history["improved"] > 0
    first = history["regressions"][0]
    assert {"suite", "item", "repeat", "config", "before", "after"} <= set(first)


def test_html_escapes_every_text_and_allows_only_its_own_script(synthetic: Any) -> None:
    data = json.loads(json.dumps(synthetic[1], default=str))
    data["configs"][0]["label"] = data["configs"][0]["model"] = "<img src=x onerror=alert(3)>"
    page = render_html(data)
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(3)&gt;" in page
    assert "<script>alert(1)" not in page and "\\u003cscript\\u003ealert(1)" in page
    scripts = re.findall(r"<script(?: [^>]*)?>", page)
    assert scripts == ['<script type="application/json" id="browser-data">', "<script>"]
    csp = re.search(r'Content-Security-Policy" content="([^"]+)"', page)
    assert csp and "default-src 'none'" in csp.group(1) and "script-src 'sha256-" in csp.group(1)
    assert not re.search(r"(src|href)=\"(https?:)?//", page)  # nothing to fetch


def test_safe_json_cannot_close_its_script_element() -> None:
    text = str(safe_json({"a": "</script><!-- \u2028 & >"}))
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text) == {"a": "</script><!-- \u2028 & >"}


def test_next_quarter_is_the_one_the_settings_are_for() -> None:
    from datetime import date

    assert next_quarter(date(2026, 11, 25)) == "2027-Q1"
    assert next_quarter(date(2026, 2, 1)) == "2026-Q2"


def test_report_command_errors_are_one_line(tmp_path: Path) -> None:
    import subprocess
    import sys

    cli = [sys.executable, "-m", "llamune_eval.cli.main", "report"]
    missing = subprocess.run(cli, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert missing.returncode == 1 and missing.stderr.strip().splitlines() == [
        "error: llamune.duckdb: no results store yet (run `llamune-eval run` first)"
    ]
    bad = subprocess.run([*cli, "--quarter", "2026-Q5"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "2026-Q5" in bad.stderr and "Traceback" not in bad.stderr
