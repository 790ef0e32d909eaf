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
from typing import Any

import pytest

from fixtures.synth import make_sample
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
            sample = make_sample(f"k{i}", run_id="r", item_id=str(i), output=json.dumps(["答え" * 200]))
            writer.put(SampleRecord(sample, {"pass": 1.0}))
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
            writer.put(SampleRecord(make_sample(key, run_id="r", output=json.dumps([text])), {"pass": 1.0}))
        writer.close()
        stored = {r.key: json.loads(r.output)[0] for r in store.samples()}
        inline = dict(store.con.execute("SELECT key, length(output::VARCHAR) FROM samples").fetchall())
    assert stored == {"big": big, "small": "ok"}
    assert inline["small"] == 6 and inline["big"] < 100  # the big answer is kept out of line, whole


def test_a_huge_item_is_refused_unsent_stored_once_and_recoverable_whole(tmp_path: Path, smollm2_server: Any) -> None:
    """The reported case: a multi-megabyte in-house input beside a normal one, on the real engine. The prompt that
    cannot fit is not sent (the engine used to tokenize it for seconds, in gigabytes), the normal item is answered,
    the big prompt is stored once for both presets, every command still reads the store, and export gives the
    full text back."""
    big = "これは長い入力です。" * 300_000  # 3 M characters, 9 MB: far beyond 2,048 tokens
    folder = tmp_path / "suites" / "huge"
    folder.mkdir(parents=True)
    (folder / "suite.yaml").write_text("name: huge\nitems: items.jsonl\nscoring: contains\nmax_tokens: 8\n")
    with (folder / "items.jsonl").open("w", encoding="utf-8") as f:
        for item in (
            {"id": "big", "input": big, "reference": "x"},
            {"id": "small", "input": "こんにちは", "reference": "x"},
        ):
            f.write(json.dumps(item, ensure_ascii=False) + "\n")
    before = _digests(folder)
    (tmp_path / "llamune.toml").write_text(
        f'[[engines]]\nkind = "openai"\nurl = "{smollm2_server.url}"\n[run]\nsuites_dir = "suites"\n'
        'presets = ["fast", "code"]\n'
    )
    run = _cli("run", "--sweep-only", "--no-progress", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert _digests(folder) == before
    assert not (tmp_path / "llamune.duckdb.journal.jsonl").exists()
    with Store(tmp_path / "llamune.duckdb") as store:
        rows = {(r.item_id, r.preset): r for r in store.samples()}
        raw = store.con.execute("SELECT max(length(prompt::VARCHAR)) FROM samples WHERE item_id = 'big'").fetchone()
        texts = store.con.execute("SELECT count(*), max(chars) FROM texts").fetchone()
    assert {k: (r.status, r.error_kind) for k, r in rows.items()} == {
        ("big", "fast"): ("error", "truncated"), ("big", "code"): ("error", "truncated"),
        ("small", "fast"): ("ok", None), ("small", "code"): ("ok", None)}  # fmt: skip
    assert "not sent" in rows[("big", "fast")].error and "3,000,000 characters" in rows[("big", "fast")].error
    assert json.loads(rows[("big", "code")].prompt) == [big]  # read back whole
    assert (
        raw is not None and raw[0] < 100 and texts == (1, len(json.dumps([big], ensure_ascii=False)))
    )  # in line: a reference; once
    assert _cli("results", "--json", cwd=tmp_path).returncode == 0
    out = tmp_path / "all.jsonl"
    assert _cli("export", "-f", "jsonl", "-o", str(out), cwd=tmp_path).returncode == 0
    exported = {(r["item_id"], r["preset"]): r for r in map(json.loads, out.read_text(encoding="utf-8").splitlines())}
    prompt = exported[("big", "fast")]["prompt"]
    assert (json.loads(prompt) if isinstance(prompt, str) else prompt) == [big]


# Found by the fuzz suite (tests/fuzz): each the smallest input that used to escape as a traceback or a lost file.


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ('{"version": "2026-Q4", "concurrentLimit": 1e400}', "Out of range float"),  # infinity: no digest covers it
        ('{"version": "2026-Q4", "changelog": "\\ud800"}', "surrogates not allowed"),  # a lone surrogate escape
        ('{"evidence": ' + "[" * 100_000 + "]" * 100_000 + "}", "recursion"),  # nested past the parser's depth
    ],
)  # fmt: skip
def test_a_recommended_file_that_cannot_be_sealed_is_one_line(tmp_path: Path, text: str, needle: str) -> None:
    from llamune_eval.settings import load_recommended
    from llamune_eval.types import InputError

    path = tmp_path / "2026-Q4.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=needle) as caught:
        load_recommended(path)
    assert str(path) in str(caught.value) and len(str(caught.value).splitlines()) == 1
    assert path.read_text(encoding="utf-8") == text


@pytest.mark.parametrize(
    ("sql", "needle"),
    [
        ("UPDATE usage_events SET ttft_s = 'abc'", "ttft_s: Input should be a valid number"),
        ("UPDATE usage_events SET created_at = x'ff00'", "created_at is binary data"),
        ("UPDATE usage_events SET params = 'not json'", "params is not JSON"),
        ("CREATE TABLE loose AS SELECT * FROM usage_events; DROP TABLE usage_events; "
         "ALTER TABLE loose RENAME TO usage_events; UPDATE usage_events SET event_id = NULL", "has no event_id"),
    ],
)  # fmt: skip
def test_a_chat_database_with_values_llamune_never_writes_is_one_line(tmp_path: Path, sql: str, needle: str) -> None:
    import sqlite3

    from llamune_eval.chat.db import Answer, ChatDB

    chat = tmp_path / "chat.sqlite"
    db = ChatDB(chat)
    sid = db.create_session("m")
    db.record_usage(sid, db.add_message(sid, 1, "assistant", "a", model="m"), "main", Answer(model="m"))
    db.close()
    con = sqlite3.connect(chat)
    con.executescript(sql)
    con.close()
    before = chat.read_bytes()
    store = str(tmp_path / "s.duckdb")
    _one_line(_cli("usage", "ingest", str(chat), "--store", store, cwd=tmp_path), 1, "chat.sqlite", needle)
    assert chat.read_bytes() == before
    assert _cli("usage", "--store", store, "--json", cwd=tmp_path).returncode == 0  # the store still reads


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["results", "--bogus"], "No such option: --bogus"),  # typer's usage errors: one line too
        (["recommend"], "Missing option '--quarter'"),
        (["report", "--quarter", "xx"], "'xx' is not YYYY-Qn"),
        (["results", "--store", "a[/]b\nc"], "a[/]b\\nc: no results store"),  # markup and a line break in a value
    ],
)  # fmt: skip
def test_usage_errors_and_odd_values_are_one_line(tmp_path: Path, args: list[str], needle: str) -> None:
    _one_line(_cli(*args, cwd=tmp_path), 1 if args[0] == "results" and "--store" in args else 2, needle)


def test_a_short_file_that_is_not_a_chat_database_is_left_alone(tmp_path: Path) -> None:
    """SQLite takes a one-byte file as an empty database: `llamune` used to write one over it."""
    notes = tmp_path / "notes.txt"
    notes.write_bytes(b"\n")
    for args in (["sessions", "--db", str(notes)], ["chat", "--db", str(notes)]):
        proc = subprocess.run([sys.executable, "-m", "llamune_eval.chat.cli", *args], cwd=tmp_path,
                              capture_output=True, text=True, timeout=120)  # fmt: skip
        _one_line(proc, 1, "notes.txt", "not a valid chat database")
        assert notes.read_bytes() == b"\n"


def test_session_titles_are_listed_as_text(tmp_path: Path) -> None:
    from llamune_eval.chat.db import ChatDB

    db = ChatDB(tmp_path / "chat.sqlite")
    db.set_title(db.create_session("m"), "[/INST] [red]x")
    db.close()
    proc = subprocess.run([sys.executable, "-m", "llamune_eval.chat.cli", "sessions", "--db", "chat.sqlite"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "[/INST] [red]x" in proc.stdout


def test_a_key_holding_a_line_break_is_named_on_one_line(tmp_path: Path) -> None:
    from llamune_eval.config import ConfigError, load
    from llamune_eval.settings import digest_of, load_recommended
    from llamune_eval.types import InputError

    data = {"version": "2026-Q4", "quarter": "2026 Q4", "models": [], "executionOrder": [], "concurrentLimit": 1,
            "updatedAt": "2026-10-01T00:00:00+00:00", "changelog": "", "a\x1eb\nc": 1}  # fmt: skip
    data["digest"] = digest_of(data)
    settings = tmp_path / "2026-Q4.json"
    settings.write_text(json.dumps(data))
    with pytest.raises(InputError) as refused:
        load_recommended(settings)
    assert len(str(refused.value).splitlines()) == 1 and "'a\\x1eb\\nc'" in str(refused.value)
    config = tmp_path / "llamune.toml"
    config.write_text('[run]\n"a\\u001eb\\nc" = 1\n')
    with pytest.raises(ConfigError) as wrong:
        load(config, env={})
    assert len(str(wrong.value).splitlines()) == 1 and "'a\\x1eb\\nc'" in str(wrong.value)


def test_export_never_writes_over_an_input(tmp_path: Path) -> None:
    """Found by the CLI fuzz: `export --out llamune.toml` replaced the configuration with a CSV."""
    with Store(tmp_path / "llamune.duckdb") as store:
        writer = store.writer()
        writer.put(SampleRecord(make_sample("k", run_id="r", item_id="a", output='["x"]'), {"pass": 1.0}))
        writer.close()
    (tmp_path / "llamune.toml").write_text("[run]\nseed = 1\n", encoding="utf-8")
    before = _digests(tmp_path)
    _one_line(_cli("export", "-f", "csv", "-o", "llamune.toml", cwd=tmp_path), 1, "llamune.toml: already exists")
    for target in ("llamune.duckdb", "./llamune.duckdb.journal.jsonl"):
        _one_line(_cli("export", "-f", "csv", "-o", target, "--force", cwd=tmp_path), 1, "is the results store")
    _one_line(_cli("export", "-o", ".", cwd=tmp_path), 1, "is a folder")
    assert _digests(tmp_path) == before
    assert _cli("export", "-f", "csv", "-o", "out.csv", cwd=tmp_path).returncode == 0
    again = _cli("export", "-f", "csv", "-o", "out.csv", "--force", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert (tmp_path / "out.csv").read_text(encoding="utf-8").splitlines()[1].startswith("k,r,s")
