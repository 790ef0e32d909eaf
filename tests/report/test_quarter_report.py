"""The whole quarter on a real engine, then its report in a real browser: sections, sample browser, XSS as text,
the trend against a previous quarter, zero network requests, no console error, a screenshot artifact."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from llamune_eval import jsonio
from llamune_eval.engines.embedded import EmbeddedServer
from llamune_eval.presets import BUILTIN
from llamune_eval.records import evolve
from llamune_eval.settings import LLMParameters
from llamune_eval.store.results import SampleRecord, Store
from llamune_eval.store.selection import scores_of
from tests.report._browser import Browser, require_chromium

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("LLAMUNE_TEST_ARTIFACTS", ROOT / "test-artifacts"))
XSS = ("<script>window.__xss = 1</script>", '<img src=x onerror="window.__xss = 2">', "</script><b>bold</b>")


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "llamune_eval.cli.main", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=600, env={**os.environ, "COLUMNS": "200"})  # fmt: skip


def _project(tmp: Path, url: str) -> None:
    """Two sample suites plus a hostile one whose prompts and references carry markup."""
    suites = tmp / "suites"
    suites.mkdir()
    shutil.copytree(ROOT / "suites" / "jnli", suites / "jnli")
    hostile = suites / "hostile"
    hostile.mkdir()
    (hostile / "suite.yaml").write_text(
        "name: hostile\nversion: '1'\ncategory: general\nscoring: contains\nmax_tokens: 24\nitems: items.jsonl\n"
    )
    items = [{"id": f"x{i}", "input": f"Repeat exactly: {p}", "reference": p} for i, p in enumerate(XSS)]
    (hostile / "items.jsonl").write_text("\n".join(json.dumps(i) for i in items) + "\n")
    usage = tmp / "usage"
    usage.mkdir()
    events = [{"event_id": f"e{i}", "session_id": "s1", "turn": i // 2, "kind": "retry" if i % 2 else "main",
               "model": "smollm2:135m", "preset": "fast" if i % 2 else "balanced", "success": True,
               "latency_s": 1.0 + i, "adopted": (i % 4 == 1) if i % 2 else (i % 4 != 1),
               "rating": 1 if i == 0 else None, "comment": "<b>わかりやすい</b>" if i == 0 else None,
               "category": "general",
               "created_at": f"2026-11-0{i + 1}T10:00:00"} for i in range(6)]  # fmt: skip
    (usage / "chat-events.jsonl").write_text("\n".join(json.dumps(e, ensure_ascii=False) for e in events) + "\n")
    (tmp / "llamune.toml").write_text(
        f'[[engines]]\nkind = "openai"\nurl = "{url}"\nmax_concurrency = 4\n'
        '[run]\npresets = ["fast", "balanced"]\n[usage]\ndatabases = ["usage/*.jsonl"]\n'
        '[recommend]\ntiers = [16]\nmin_items = 3\n[recommend.model_sizes]\n"smollm2:135m" = 100000000\n'
    )


def _hostile_answer(store_path: Path) -> None:
    """An answer carrying markup, as a model could write it: stored through the store's own journal."""
    with Store(store_path) as store:
        row = next(r for r in store.samples() if r.suite == "hostile" and r.status == "ok")
        scores = scores_of(store, [row.key])[row.key]
        writer = store.writer()
        writer.put(SampleRecord(evolve(row, output=json.dumps([XSS[1] + " and " + XSS[0]])), scores))
        writer.close()


def _previous_quarter(reports: Path) -> dict[str, Any]:
    """Last quarter's report: the same answers, but every wrong one was right then (so each is a regression)."""
    data = json.loads((reports / "2027-Q1" / "report.json").read_text())
    for answer in data["browser"]["answers"]:
        if answer[2] == "w":
            answer[2] = "r"
    for suite in data["leaderboard"]:
        for row in suite["rows"]:
            row["unit"] = min(1.0, (row["unit"] or 0) + 0.2)
    (reports / "2026-Q4").mkdir()
    (reports / "2026-Q4" / "report.json").write_text(json.dumps(data, ensure_ascii=False))
    return dict(data)


@pytest.fixture(scope="module")
def quarter(tmp_path_factory: pytest.TempPathFactory, smollm2_server: EmbeddedServer) -> Path:
    tmp = tmp_path_factory.mktemp("quarter")
    assert smollm2_server.url is not None
    _project(tmp, smollm2_server.url)
    first = _cli("run", "--limit", "3", "--quarter", "2027-Q1", "--no-progress", cwd=tmp)
    assert first.returncode == 0, first.stderr
    return tmp


def test_the_whole_quarter_writes_settings_and_report(quarter: Path) -> None:
    data = jsonio.loads((quarter / "reports" / "2027-Q1" / "report.json").read_bytes())  # NaN would fail here
    assert data["quarter"] == "2027-Q1" and data["counts"]["samples"] == 2 * 2 * 3
    assert {s["suite"] for s in data["leaderboard"]} == {"jnli", "hostile"}
    assert data["summary"]["tiers"][0]["executionOrder"] == ["smollm2:135m"]
    settings = jsonio.loads((quarter / "recommended" / "2027-Q1.json").read_bytes())
    assert settings["version"] == "2027-Q1" and settings["digest"] == data["summary"]["digest"]
    assert not settings["preview"] and settings["evidence"]["publishable"]
    schema = jsonio.loads((quarter / "recommended" / "schema.json").read_bytes())
    jsonschema.Draft202012Validator(schema).validate(settings)
    for tier in settings["tiers"]:  # what chat users get: the preset itself, not the suites' 8- and 24-token caps
        for m in [*tier["models"], *settings["models"]]:
            assert m["parameters"] == LLMParameters.of(BUILTIN[m["preset"]].params).view()
            assert m["parameters"]["max_tokens"] == BUILTIN[m["preset"]].params.max_tokens >= 256
    again = _cli("run", "--limit", "3", "--quarter", "2027-Q1", "--no-progress", "--json", cwd=quarter)
    assert again.returncode == 0, again.stderr
    out = jsonio.loads(again.stdout)
    assert "12 samples planned, 12 already stored, 0 to generate" in again.stderr  # resumed as a whole
    assert [(s["name"], s["status"]) for s in out["stages"]] == [
        ("sweep", "done"), ("judge", "skipped"), ("usage", "done"), ("measure", "skipped"), ("recommend", "done"),
        ("publish", "skipped"), ("report", "done")]  # fmt: skip
    assert "(unchanged)" in out["stages"][4]["detail"]  # the same decision: the published file is left as it is
    usage = data["usage"]  # the quarter before 2027-Q1 is the data the choice rests on
    assert usage["period"] == "2026-Q4" and usage["modelUsage"]["smollm2:135m"]["count"] == 6
    assert usage["retryAdoption"]["smollm2:135m:fast"]["retries"] == 3
    _profiles_and_provenance(quarter, data, settings)


def _profiles_and_provenance(quarter: Path, data: dict[str, Any], settings: dict[str, Any]) -> None:
    """strict is the headline, lenient beside it with the gap, both as the stored per-sample values give them;
    the data each suite ran on is named in the report and the settings file."""
    with Store(quarter / "llamune.duckdb") as store:
        rows = [r for r in store.samples() if r.suite == "jnli"]
        scores = scores_of(store, [r.key for r in rows])
    board = next(s for s in data["leaderboard"] if s["suite"] == "jnli")
    assert len(board["rows"]) == 2  # fast and balanced
    for entry in board["rows"]:
        mine = [scores[r.key] for r in rows if r.preset == entry["preset"]]
        assert entry["value"] == pytest.approx(sum(m["correct"] for m in mine) / len(mine))
        assert entry["lenient"] == pytest.approx(sum(m["lenient.correct"] for m in mine) / len(mine))
        assert entry["gap"] == pytest.approx(entry["value"] - entry["lenient"])
        assert entry["templateVersion"] == "jnli-1-3shot"
    sources = {x["suite"]: x for x in data["data"]}
    assert sources["jnli"]["origin"] == "sample" and sources["hostile"]["origin"] == "in-house"
    assert {x["suite"]: x["origin"] for x in settings["evidence"]["data"]}["jnli"] == "sample"
    html = (quarter / "reports" / "2027-Q1" / "index.html").read_text()
    assert "lenient" in html and "サンプル（手書き）" in html and "データの出所" in html


def test_every_json_output_is_strict(quarter: Path) -> None:
    """`--json` of every command that has it, parsed with NaN and Infinity rejected."""
    commands = (
        ["results", "--json"],
        ["compare", "smollm2:135m:fast", "smollm2:135m:balanced", "--json"],
        ["usage", "--json"],
        ["recommend", "--quarter", "2027-Q1", "--json"],
        ["suites", "--json"],
        ["models", "--json"],
        ["report", "--quarter", "2027-Q1", "--format", "json", "--out", "-"],
    )
    for args in commands:
        proc = _cli(*args, cwd=quarter)
        assert proc.returncode == 0, (args, proc.stderr)
        assert jsonio.loads(proc.stdout) is not None, args
    rows = jsonio.loads(_cli("results", "--json", cwd=quarter).stdout)
    assert {r["suite"] for r in rows} == {"jnli", "hostile"} and all(r["n"] == 3 for r in rows)


def test_report_json_export_is_the_same_content(quarter: Path) -> None:
    proc = _cli("report", "--quarter", "2027-Q1", "--format", "json", "--out", "-", cwd=quarter)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    stored = json.loads((quarter / "reports" / "2027-Q1" / "report.json").read_text())
    assert data["leaderboard"] == stored["leaderboard"] and data["browser"] == stored["browser"]


def test_report_in_a_real_browser(quarter: Path) -> None:
    chromium = require_chromium()
    _hostile_answer(quarter / "llamune.duckdb")
    _previous_quarter(quarter / "reports")
    proc = _cli("report", "--quarter", "2027-Q1", cwd=quarter)
    assert proc.returncode == 0, proc.stderr
    page_path = quarter / "reports" / "2027-Q1" / "index.html"
    html = page_path.read_text()
    assert "<script>window.__xss" not in html and 'onerror="window' not in html
    url = page_path.resolve().as_uri()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with Browser(chromium) as browser:
        page = browser.open(url)
        for section in ("summary", "leaderboard", "speed", "heatmap", "judge", "usage", "history", "samples"):
            page.click(f'nav a[data-section="{section}"]')
            shown = page.evaluate("[...document.querySelectorAll('section.panel')]"
                                  ".filter(s => getComputedStyle(s).display !== 'none').map(s => s.id)")  # fmt: skip
            assert shown == [section]
            page.screenshot(ARTIFACTS / f"report-{section}.png")
        page.click('nav a[data-section="usage"]')
        usage = page.text("#usage")
        assert "smollm2:135m" in usage and "<b>わかりやすい</b>" in usage  # a comment is text too
        page.click('nav a[data-section="history"]')
        history = page.text("#history")
        assert "2026-Q4 → 2027-Q1" in history and "後退した設問" in history
        assert page.evaluate("document.querySelectorAll('#history svg polyline, #history svg circle').length") > 0
        page.click("#history button.goto")  # a regression, opened side by side in the sample browser
        assert page.evaluate("location.hash") == "#samples"
        assert page.evaluate("document.querySelectorAll('#items .item').length") == 1
        page.evaluate("document.getElementById('f-item').value = ''")
        page.evaluate("(s => { s.value = 'hostile'; s.dispatchEvent(new Event('change')); })"
                      "(document.getElementById('f-suite'))")  # fmt: skip
        text = page.text("#items")
        for payload in XSS:
            assert payload in text  # shown as text, never run
        assert page.evaluate("window.__xss === undefined && document.querySelectorAll('#items img, #items b')"
                             ".length === 0")  # fmt: skip
        page.evaluate("(s => { s.value = ''; s.dispatchEvent(new Event('change')); })"
                      "(document.getElementById('f-suite'))")  # fmt: skip
        info = page.text("#page-info")
        assert info.startswith("1 / ")
        page.evaluate("(s => { s.value = 'w'; s.dispatchEvent(new Event('change')); })"
                      "(document.getElementById('f-verdict'))")  # fmt: skip
        verdicts = page.evaluate("[...document.querySelectorAll('#items .answer')].map(a => a.dataset.verdict)")
        assert verdicts and set(verdicts) == {"w"}
        page.screenshot(ARTIFACTS / "report-sample-browser.png")
        assert page.console_errors == []
        assert page.requests == [url]  # the file itself, nothing else
