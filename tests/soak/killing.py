"""Killing `llamune-eval run` on the real embedded engine at chosen stages, and the checks after it: nothing lost,
nothing duplicated, nothing regenerated, and the final settings and report equal to those computed from a store
that holds the same samples and was never killed.

The run says where it is on stderr (the sweep's plan line, then `quarter Q · judge`, `· usage`, `· measure`,
`· recommend`, `· report`); an attempt waits for its target stage, sleeps a random moment into it and sends
SIGKILL. What a kill left durable is read without writing anything (the store read-only, the journals parsed as
recovery would), so recovery stays the next run's job, as it would be after a real crash.
"""

from __future__ import annotations

import json
import os
import queue
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llamune_eval.store import connect

ROOT = Path(__file__).resolve().parents[2]
RUN = [sys.executable, "-m", "llamune_eval.cli.main", "run", "--no-progress"]
STAGES = ("start", "sweep", "judge", "usage", "measure", "recommend", "report", "done")
MEMO = [  # a short judge-scored suite: the judge stage in seconds, not minutes
    ("m1", "会議の開始時刻が10時から11時に変わったことを、社内向けに一文で知らせてください。"),
    ("m2", "来週の月曜日は祝日のため、窓口が休みになることを顧客向けに一文で知らせてください。"),
    ("m3", "資料の提出期限を一日延ばしてほしいと、上司に丁寧に一文で頼んでください。"),
    ("m4", "新しい担当者として着任したことを、取引先に一文で挨拶してください。"),
]


def make_quarter(folder: Path, models: list[str], judge: str, presets: list[str], limit: int) -> list[str]:
    """A quarter on the embedded engine's bundled models: JCommonsenseQA and extraction from the sample suites,
    a four-item judge-scored memo suite and a chat database with two answers; returns the `run` arguments."""
    from llamune_eval.chat.db import Answer, ChatDB

    db = folder / "chat.sqlite"
    chat = ChatDB(db)
    session = chat.create_session(models[0])
    for turn in (1, 2):
        message = chat.add_message(session, turn, "assistant", "回答", model=models[0], preset="settings")
        chat.record_usage(session, message, "main", Answer(model=models[0], latency_s=0.5, category="general"))
    chat.close()
    suites = folder / "suites"
    for name in ("jcommonsenseqa", "extraction"):
        shutil.copytree(ROOT / "suites" / name, suites / name)
    (suites / "memo").mkdir(parents=True)
    (suites / "memo" / "suite.yaml").write_text(
        "name: memo\ncategory: business-writing\nscoring: judge\nmax_tokens: 40\nitems: items.jsonl\n", "utf-8"
    )
    items = [json.dumps({"id": i, "input": text, "eval_aspect": "簡潔で丁寧な一文か"}, ensure_ascii=False)
             for i, text in MEMO]  # fmt: skip
    (suites / "memo" / "items.jsonl").write_text("\n".join(items) + "\n", "utf-8")
    names = ", ".join(f'"{m}"' for m in models)
    (folder / "llamune.toml").write_text(
        f'[[engines]]\nkind = "embedded"\nmodels = [{names}]\nparallel = 2\nctx_per_slot = 2048\n'
        f'[run]\nsuites_dir = "suites"\npresets = [{", ".join(f"{p!r}" for p in presets)}]\nquarter = "2027-Q1"\n'
        f'[judge]\nmodels = ["{judge}"]\nrejudge_fraction = 0.0\n'
        f'[usage]\ndatabases = ["{db}"]\n',
        "utf-8",
    )
    return ["--limit", str(limit)]


@dataclass
class Attempt:
    target: str
    killed: bool
    stage: str  # where the run was when it was killed (or "done")
    returncode: int | None
    lines: list[str] = field(default_factory=list)


def _stage_of(line: str, current: str) -> str:
    if " samples planned, " in line:
        return "sweep"
    if line.startswith("quarter ") and " · " in line:
        return line.rsplit(" · ", 1)[1].strip()
    return current


def attempt(folder: Path, args: list[str], target: str | None, rng: random.Random, window: float) -> Attempt:
    """Start the quarter; SIGKILL it a random moment (up to `window` seconds) after it enters `target` (None:
    let it finish)."""
    env = {**os.environ, "COLUMNS": "200"}
    proc = subprocess.Popen([*RUN, *args], cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True, env=env)  # fmt: skip
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    stage, seen, kill_at = "start", [], None
    while True:
        try:
            line = lines.get(timeout=0.01)
        except queue.Empty:
            line = ""
        if line is None:
            proc.wait(60)
            return Attempt(target or "none", False, "done", proc.returncode, seen)
        if line:
            seen.append(line)
            stage = _stage_of(line, stage)
            if stage == target and kill_at is None:
                kill_at = time.monotonic() + rng.uniform(0, window)
        if target == "start" and kill_at is None:
            kill_at = time.monotonic() + rng.uniform(0, window)
        if kill_at is not None and time.monotonic() >= kill_at:
            os.kill(proc.pid, signal.SIGKILL)  # no cleanup, no final commit, the engine child dies with it
            proc.wait(60)
            return Attempt(target or "none", True, stage, proc.returncode, seen)


def kill_at(folder: Path, args: list[str], targets: list[tuple[str, float]], rng: random.Random,
            tries: int = 3) -> tuple[list[Attempt], list[dict[str, dict[str, tuple[str, str]]]]]:  # fmt: skip
    """One kill per (stage, window), each tried up to `tries` times (a stage may be over before the kill lands),
    with what each kill left durable."""
    attempts, snapshots = [], []
    for target, window in targets:
        for _ in range(tries):
            run = attempt(folder, args, target, rng, window)
            attempts.append(run)
            if run.killed:
                snapshots.append(durable(folder / "llamune.duckdb"))
                break
    return attempts, snapshots


def _journal(path: Path) -> dict[str, dict[str, Any]]:
    """Complete journal lines, the newest per key (what recovery would move in)."""
    rows: dict[str, dict[str, Any]] = {}
    if not path.exists():
        return rows
    for raw in path.read_bytes().split(b"\n"):
        try:
            row = json.loads(raw)["row"]
        except (ValueError, KeyError, TypeError):
            continue  # a line torn by the kill: recovery skips it too
        if row.get("key") and (row["key"] not in rows or row["created_at"] >= rows[row["key"]]["created_at"]):
            rows[row["key"]] = row
    return rows


def durable(store: Path) -> dict[str, dict[str, tuple[str, str]]]:
    """What a kill left for good: finished samples and judgements, key -> (run id, created at), read-only."""
    found: dict[str, dict[str, tuple[str, str]]] = {"samples": {}, "judgements": {}}
    if store.exists():
        con = connect(store, read_only=True)
        try:
            for key, run_id, at in con.execute("SELECT key, run_id, created_at::VARCHAR FROM samples "
                                               "WHERE status = 'ok'").fetchall():  # fmt: skip
                found["samples"][key] = (run_id, at)
            for key, run_id, at in con.execute("SELECT key, run_id, created_at::VARCHAR FROM judgements "
                                               "WHERE error_kind IS NULL").fetchall():  # fmt: skip
                found["judgements"][key] = (run_id, at)
        finally:
            con.close()
    for table, suffix in (("samples", ".journal.jsonl"), ("judgements", ".judgements.jsonl")):
        for key, row in _journal(store.with_name(store.name + suffix)).items():
            if table == "judgements" and row.get("error_kind") is not None:
                continue
            if table == "samples" and row.get("status") != "ok":
                continue
            found[table][key] = (row["run_id"], str(row["created_at"]).replace("T", " "))
    return found


def never_killed_copy(store: Path, clean: Path) -> None:
    """A store holding exactly `store`'s samples, scores, texts and judgements under one finished run: what the
    same evidence looks like without any kill."""
    con = connect(clean)
    try:
        con.execute(f"ATTACH '{store}' AS k (READ_ONLY)")
        tables = (
            "runs",
            "samples",
            "scores",
            "judgements",
            "texts",
            "usage_events",
            "timings",
            "footprints",
        )  # the measure stage's figures are evidence too
        for table in tables:
            con.execute(f"CREATE TABLE {table} AS SELECT * FROM k.{table}")
        last = con.execute("SELECT run_id FROM runs WHERE status = 'finished' ORDER BY started_at DESC LIMIT 1")
        (final,) = last.fetchone() or (None,)
        assert final is not None, "no finished run"
        con.execute("DELETE FROM runs WHERE run_id <> ?", [final])
        con.execute("UPDATE samples SET run_id = ?", [final])
        con.execute("UPDATE judgements SET run_id = ?", [final])
        con.execute("DETACH k")
    finally:
        con.close()


VOLATILE = {"generatedAt", "generated_at", "created_at", "createdAt", "run_id", "runId", "runs", "started_at",
            "finished_at", "releaseDate", "digest", "signature", "path", "paths", "updatedAt", "runIds"}  # fmt: skip


def normalised(value: Any) -> Any:
    """A JSON value without timestamps, run ids and what is derived from them (the file's digest)."""
    if isinstance(value, dict):
        return {k: normalised(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [normalised(v) for v in value]
    return value


def recomputed(folder: Path, store: Path, quarter: str, out: Path, preview: bool) -> tuple[Any, Any]:
    """The settings and the report data computed from `store` by the commands an operator would type."""
    cli = [sys.executable, "-m", "llamune_eval.cli.main"]
    rec = subprocess.run([*cli, "recommend", "--quarter", quarter, "--store", str(store), "--out", str(out),
                          "--json", *(["--preview"] if preview else [])], cwd=folder, capture_output=True, text=True,
                         timeout=300)  # fmt: skip
    assert rec.returncode == 0, rec.stderr
    settings = json.loads(Path(json.loads(rec.stdout)["path"]).read_bytes())
    rep = subprocess.run([*cli, "report", "--quarter", quarter, "--store", str(store), "--out", "-"], cwd=folder,
                         capture_output=True, text=True, timeout=300)  # fmt: skip
    assert rep.returncode == 0, rep.stderr
    return settings, json.loads(rep.stdout)
