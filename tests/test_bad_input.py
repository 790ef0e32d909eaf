"""Bad input, each case as a user would meet it: one `error:` line naming the file and place, no traceback, the
input byte-identical afterwards, and nothing lost. Each test is one case reported in the bad-input issue."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from llamune_eval.store.results import SampleRecord, Store

ROOT = Path(__file__).resolve().parents[1]


def _cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "llamune_eval.cli.main", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120, env={**os.environ, **(env or {})})  # fmt: skip


def _digests(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}  # fmt: skip


def _one_line(proc: subprocess.CompletedProcess[str], code: int, *needles: str) -> None:
    err = proc.stderr.strip()
    assert proc.returncode == code, (proc.returncode, err)
    assert "Traceback" not in err and err.startswith("error:") and len(err.splitlines()) == 1, err
    for needle in needles:
        assert needle in err, err


def test_config_that_is_not_utf8(tmp_path: Path) -> None:
    (tmp_path / "llamune.toml").write_bytes(b"[run]\nseed = 1\n# \xff\xfe\n")
    before = _digests(tmp_path)
    _one_line(_cli("suites", cwd=tmp_path), 2, "llamune.toml", "not UTF-8")
    assert _digests(tmp_path) == before


def _suite(tmp_path: Path, spec: bytes, items: str = '{"id": "a", "input": "x", "reference": "x"}\n') -> Path:
    folder = tmp_path / "suites" / "mine"
    folder.mkdir(parents=True)
    (folder / "suite.yaml").write_bytes(spec)
    (folder / "items.jsonl").write_text(items, encoding="utf-8")
    return folder


@pytest.mark.parametrize(
    ("spec", "items", "needles"),
    [
        (b"name: mine\nitems: items.jsonl\ndescription: \xff\n", None, ("suite.yaml", "not UTF-8")),
        (b"name: mine\nitems: items.jsonl\nmax_tokens: lots\n", None, ("suite.yaml", "'max_tokens' should be int")),
        (b"name: mine\nitems: items.jsonl\nsystem: [1, 2]\n", None, ("suite.yaml", "'system' should be str")),
        (b"name: mine\nitems: items.jsonl\n", '{"id": "a", "input": "x", "eval_aspect": 5}\n',
         ("items.jsonl:1", "'eval_aspect' should be str")),
        (b"name: mine\nitems: items.jsonl\nscoring: json_schema\n",
         '{"id": "a", "input": "x", "schema": {"type": "foo"}}\n', ("items.jsonl:1", "not a valid JSON Schema")),
    ],
)  # fmt: skip
def test_a_bad_suite_file_is_one_line_and_the_listing_survives(tmp_path: Path, spec: bytes, items: str | None,
                                                               needles: tuple[str, ...]) -> None:  # fmt: skip
    folder = _suite(tmp_path, spec, items or '{"id": "a", "input": "x", "reference": "x"}\n')
    before = _digests(folder)
    _one_line(_cli("run", "--suite", "mine", "--no-progress", cwd=tmp_path), 1, *needles)
    listing = _cli("suites", "--json", cwd=tmp_path, env={"LLAMUNE_RUN__SUITES_DIR": f'"{ROOT / "suites"}"'})
    assert listing.returncode == 0  # another folder's suites still list
    mine = json.loads(_cli("suites", "--json", cwd=tmp_path).stdout)["suites"]
    assert [s["name"] for s in mine] == ["mine"] and needles[-1] in mine[0]["error"]
    assert _digests(folder) == before


def test_usage_event_without_an_id(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    events.write_text('{"event_id": "e1", "kind": "main", "model": "m"}\n{"event_id": null, "kind": "main"}\n')
    before = events.read_bytes()
    _one_line(_cli("usage", "ingest", str(events), "--store", str(tmp_path / "s.duckdb"), cwd=tmp_path), 1,
              "events.jsonl:2", "event_id")  # fmt: skip
    assert events.read_bytes() == before


def test_a_public_key_that_is_not_pem(tmp_path: Path) -> None:
    from llamune_eval.settings import load_recommended
    from llamune_eval.types import InputError

    key = tmp_path / "key.pem"
    key.write_text("not a key")
    settings = tmp_path / "2026-Q4.json"
    from llamune_eval.settings import digest_of

    data = {"version": "2026-Q4", "quarter": "2026 Q4", "models": [], "executionOrder": [], "concurrentLimit": 1,
            "updatedAt": "2026-10-01T00:00:00+00:00", "changelog": ""}  # fmt: skip
    data["digest"] = digest_of(data)
    settings.write_text(json.dumps(data))
    with pytest.raises(InputError, match=r"key\.pem: not a PEM public key"):
        load_recommended(settings, public_key=key)


def test_a_truncated_store_is_one_line_and_left_as_it_is(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    with Store(path) as store:
        writer = store.writer()
        for i in range(3000):
            writer.put(SampleRecord({"key": f"k{i}", "run_id": "r", "suite": "s", "kind": "inhouse", "item_id": str(i),
                                     "model": "m", "preset": "p", "status": "ok", "repeat": 0,
                                     "output": json.dumps(["答え" * 200])}, {"pass": 1.0}))  # fmt: skip
        writer.close()
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 2 // 3])
    before = path.read_bytes()
    for command in (["results"], ["export", "-o", str(tmp_path / "x.csv"), "-f", "csv"], ["report", "--out", "-"]):
        _one_line(_cli(*command, "--store", str(path), cwd=tmp_path), 1, "s.duckdb", "damaged or truncated")
        assert path.read_bytes() == before


def test_markup_in_names_and_comments_is_text(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    rows = [{"event_id": f"e{i}", "session_id": "s", "turn": i, "kind": "main", "model": "[/INST]",
             "preset": "[bold]", "success": True, "latency_s": 1.0, "rating": 1, "comment": "[/INST] [red]x",
             "category": "general", "created_at": "2026-11-01T10:00:00"} for i in range(2)]  # fmt: skip
    events.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    store = str(tmp_path / "s.duckdb")
    assert _cli("usage", "ingest", str(events), "--store", store, cwd=tmp_path).returncode == 0
    shown = _cli("usage", "--store", store, cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "[/INST]" in shown.stdout and "[red]x" in shown.stdout


def test_files_that_hold_conversations_are_owner_only(tmp_path: Path) -> None:
    from llamune_eval.chat.db import ChatDB

    with Store(tmp_path / "s.duckdb") as store:
        writer = store.writer()
        assert stat.S_IMODE(store.journal.stat().st_mode) == 0o600
        writer.close()
    assert stat.S_IMODE((tmp_path / "s.duckdb").stat().st_mode) == 0o600
    db = ChatDB(tmp_path / "chat.sqlite")
    db.close()
    assert stat.S_IMODE((tmp_path / "chat.sqlite").stat().st_mode) == 0o600


def test_an_answer_larger_than_a_json_reader_s_default_is_stored(tmp_path: Path) -> None:
    """One 20 MB answer (DuckDB's JSON reader stops at 16 MB by default) beside a normal one: both stored."""
    big = "あ" * (7 << 20)  # 21 MB in UTF-8
    with Store(tmp_path / "s.duckdb") as store:
        writer = store.writer()
        for key, text in (("big", big), ("small", "ok")):
            writer.put(SampleRecord({"key": key, "run_id": "r", "suite": "s", "kind": "inhouse", "item_id": key,
                                     "model": "m", "preset": "p", "status": "ok", "repeat": 0,
                                     "output": json.dumps([text])}, {"pass": 1.0}))  # fmt: skip
        writer.close()
        stored = {r["key"]: json.loads(r["output"])[0] for r in store.samples()}
    assert stored == {"big": big, "small": "ok"}
