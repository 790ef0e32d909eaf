"""`suites`, `run`, `results` and `export` as an operator types them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from llamune_eval import jsonio
from llamune_eval.store import connect
from tests.stubs.faults import FaultServer

ROOT = Path(__file__).resolve().parents[2]


def _cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "llamune_eval.cli.main", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120, env={**os.environ, "COLUMNS": "200", **(env or {})})  # fmt: skip


def test_suites_lists_samples_and_says_marc_ja_is_gone(tmp_path: Path) -> None:
    (tmp_path / "llamune.toml").write_text(f'[run]\nsuites_dir = "{ROOT / "suites"}"\n')
    proc = _cli("suites", "--json", cwd=tmp_path)
    data = json.loads(proc.stdout)
    names = {s["name"]: s for s in data["suites"]}
    assert set(names) == {"jcommonsenseqa", "jnli", "jsts", "jsquad", "business-writing", "extraction"}
    assert names["jsts"]["metric"] == "pearson" and names["jcommonsenseqa"]["items"] == 24
    assert data["unavailable"][0]["name"] == "marc-ja" and "no longer distributed" in data["unavailable"][0]["reason"]
    table = _cli("suites", cwd=tmp_path)
    assert "marc-ja: unavailable" in table.stdout


def test_run_results_export(tmp_path: Path) -> None:
    with FaultServer() as srv:
        (tmp_path / "llamune.toml").write_text(
            f'[[engines]]\nkind = "openai"\nurl = "{srv.url}"\n[run]\nsuites_dir = "{ROOT / "suites"}"\n'
            'presets = ["fast"]\n'
        )
        run = _cli("run", "--limit", "3", "-s", "jsquad", "-s", "extraction", "--no-progress", cwd=tmp_path)
        listed, probed = srv.server.count("/v1/models"), srv.server.count("/props")
    assert run.returncode == 0, run.stderr
    # the whole quarter (sweep, judge, usage, recommend, report) asked the engine for its models once, and probed
    # its flavour once (this server has no /props, so the probe reuses the listing)
    assert (listed, probed) == (1, 1)
    assert "6 samples planned, 0 already stored, 6 to generate" in run.stderr
    assert "jsquad" in run.stdout and "extraction" in run.stdout and "pass_rate" in run.stdout
    results = json.loads(_cli("results", "--json", cwd=tmp_path).stdout)
    assert {(r["suite"], r["model"], r["preset"], r["n"]) for r in results} == {
        ("jsquad", "m", "fast", 3), ("extraction", "m", "fast", 3)}  # fmt: skip
    only = json.loads(_cli("results", "--json", "-s", "jsquad", cwd=tmp_path).stdout)
    assert [r["suite"] for r in only] == ["jsquad"]
    for fmt in ("parquet", "csv", "jsonl"):
        out = tmp_path / f"s.{fmt}"
        proc = _cli("export", "-f", fmt, "-o", str(out), cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        assert out.stat().st_size > 0
    con = connect()
    count, with_f1 = con.execute(f"select count(*), count(score_f1) from '{tmp_path / 's.parquet'}'").fetchone()
    assert (count, with_f1) == (6, 3)
    assert len((tmp_path / "s.jsonl").read_text().splitlines()) == 6


def test_results_without_a_store_is_one_line(tmp_path: Path) -> None:
    proc = _cli("results", cwd=tmp_path)
    assert proc.returncode == 1 and proc.stderr.startswith("error:") and "no results store" in proc.stderr


def test_judge_command_stores_unparsable_verdicts_as_such(tmp_path: Path) -> None:
    with FaultServer() as srv:  # answers "Hello there!" to everything: no judge verdict in it
        (tmp_path / "llamune.toml").write_text(
            f'[[engines]]\nkind = "openai"\nurl = "{srv.url}"\n[run]\nsuites_dir = "{ROOT / "suites"}"\n'
            'presets = ["fast"]\n[judge]\nrejudge_fraction = 0.0\n'
        )
        assert _cli("run", "--limit", "3", "-s", "business-writing", "--no-progress", cwd=tmp_path).returncode == 0
        proc = _cli("judge", "--judge", "m", "--json", "--no-progress", cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        data = json.loads(proc.stdout)
        assert data["judged"] == 3 and data["parse_failures"] == 3 and data["errors"] == 0
        assert data["scores"] == [] and data["reliability"]["parse_failures"] == 3
        again = json.loads(_cli("judge", "--judge", "m", "--json", "--no-progress", cwd=tmp_path).stdout)
        assert again["judged"] == 0 and again["skipped"] == 3
        missing = _cli("judge", "--judge", "nope", cwd=tmp_path)
    assert missing.returncode == 1 and "nope" in missing.stderr and "Traceback" not in missing.stderr
    from llamune_eval.store.results import Store

    with Store(tmp_path / "llamune.duckdb") as store:
        raw = [(r.raw, r.ok, r.overall) for r in store.judgements()]
    assert len(raw) == 3 and all(r == ("Hello there!", False, None) for r in raw)


def test_the_quarter_ingests_this_machines_chat_database_by_default(tmp_path: Path, smollm2_server: Any) -> None:
    from llamune_eval.chat.db import Answer, ChatDB

    model = "smollm2:135m"
    db = ChatDB(tmp_path / "chat.sqlite")  # what `llamune` writes, at the path it writes it
    sid = db.create_session(model)
    mid = db.add_message(sid, 1, "assistant", "回答", model=model, preset="settings")
    db.record_usage(sid, mid, "main", Answer(model=model, latency_s=0.5, category="coding"))
    db.close()
    (tmp_path / "llamune.toml").write_text(
        f'[[engines]]\nkind = "openai"\nurl = "{smollm2_server.url}"\n[run]\nsuites_dir = "{ROOT / "suites"}"\n'
        f'presets = ["fast"]\n[recommend.model_sizes]\n"{model}" = 100000000\n'
    )
    proc = _cli("run", "--limit", "3", "-s", "extraction", "--no-progress", "--json", cwd=tmp_path,
                env={"LLAMUNE_CHAT_DB": str(tmp_path / "chat.sqlite")})  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    stages = {s["name"]: s for s in jsonio.loads(proc.stdout)["stages"]}
    assert stages["usage"]["status"] == "done" and stages["usage"]["paths"] == [str(tmp_path / "chat.sqlite")]
    assert stages["usage"]["detail"].startswith("1 new events")
    assert stages["recommend"]["status"] == "preview"  # three items are too few to publish
    preview = jsonio.loads((tmp_path / "recommended" / f"{jsonio.loads(proc.stdout)['quarter']}.preview.json")
                           .read_bytes())  # fmt: skip
    assert preview["evidence"]["usage"]["models"][model]["answers"] == 1


def test_a_raced_quarter_says_so_in_its_stage_settings_and_report(tmp_path: Path, smollm2_server: Any) -> None:
    """`run --budget N` races the whole quarter: the sweep's stage says what it spent against a full run, and the
    preview settings and report.json carry the same race, every configuration's stop with it."""
    model = "smollm2:135m"
    (tmp_path / "llamune.toml").write_text(
        f'[[engines]]\nkind = "openai"\nurl = "{smollm2_server.url}"\n[run]\nsuites_dir = "{ROOT / "suites"}"\n'
        f'presets = ["fast", "creative"]\nquarter = "2027-Q1"\n[recommend.model_sizes]\n"{model}" = 100000000\n'
    )
    proc = _cli("run", "-s", "jcommonsenseqa", "--limit", "8", "--budget", "12", "--no-progress", "--json",
                cwd=tmp_path, env={"LLAMUNE_CHAT_DB": str(tmp_path / "none.sqlite")})  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "(raced): 16 samples in a full run" in proc.stderr
    stages = {s["name"]: s for s in jsonio.loads(proc.stdout)["stages"]}
    assert stages["sweep"]["detail"].startswith("raced: 12 of a full run's 16 requests (75%)")
    settings = jsonio.loads((tmp_path / "recommended" / "2027-Q1.preview.json").read_bytes())
    assert settings["evidence"]["raced"] is True
    assert settings["evidence"]["race"] == {"seed": 0, "budget": 12, "spent": 12, "full": 16}
    report = jsonio.loads((tmp_path / "reports" / "2027-Q1" / "report.json").read_bytes())
    race = report["race"]
    assert (race["spent"], race["full"], race["ratio"]) == (12, 16, 0.75)
    assert {(c["preset"], c["reason"], c["items"], c["total"]) for c in race["configs"]} == {
        ("fast", "budget", 6, 8),
        ("creative", "budget", 6, 8),
    }
