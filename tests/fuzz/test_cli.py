"""Fuzzing the command line end to end (the bad-input issue): commands that read the store, the config, usage files
and option values, run as a user runs them. Whatever the options and files, the exit code is 0, or 1 or 2 with
exactly one `error:` line on stderr and no traceback, and every input file is byte-identical afterwards. Each
example is a process, so the bounded run takes a quarter of LLAMUNE_FUZZ_EXAMPLES. `run` (it needs an engine) and
`engine`/`ask`/`models`/`judge` are left out."""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from fixtures.synth import make_sample
from llamune_eval.chat.db import Answer, ChatDB
from llamune_eval.store.results import SampleRecord, Store

EXAMPLES = max(int(os.environ.get("LLAMUNE_FUZZ_EXAMPLES", "60")) // 4, 5)
FUZZ = settings(max_examples=EXAMPLES, deadline=None)
WORK = Path(tempfile.mkdtemp(prefix="llamune-fuzz-cli-"))
COUNTER = itertools.count()
MODELS = ("m1", "m2")


def _template_store() -> bytes:
    path = WORK / "template.duckdb"
    with Store(path) as store:
        writer = store.writer()
        for model, item in itertools.product(MODELS, range(6)):
            sample = make_sample(f"{model}-{item}", run_id="r", item_id=str(item), model=model,
                                 output=json.dumps(["答え"]))  # fmt: skip
            writer.put(SampleRecord(sample, {"pass": float((item + len(model)) % 2)}))
        writer.close()
    return path.read_bytes()


def _template_chat() -> bytes:
    """A chat database whose title, model and comment hold markup: listed and ingested as text."""
    db = ChatDB(WORK / "template.sqlite")
    sid = db.create_session("[/]m1")
    db.set_title(sid, "[/INST] [red]x")
    mid = db.add_message(sid, 1, "assistant", "答え", model="[/]m1")
    db.record_usage(sid, mid, "main", Answer(model="[/]m1", latency_s=1.0))
    db.rate(mid, 1, "[/INST] よい")
    db.close()
    return (WORK / "template.sqlite").read_bytes()


STORE = _template_store()
CHAT = _template_chat()
CONFIG = ('[run]\nseed = 1\n[recommend]\nmodel_sizes = { m1 = 1000000000, m2 = 2000000000 }\n'
          '[paths]\nrecommended = "recommended"\n')  # fmt: skip
TOML_LINES = st.sampled_from(["[run]", "seed = 1", "seed = \"x\"", "limit = -1", "[recommend]", "alpha = 2",
                              "model_sizes = { m1 = -5 }", "[paths]", 'store = "elsewhere.duckdb"',
                              'store = "/nonexistent/x.duckdb"', 'recommended = "/proc"', "[[engines]]",
                              'kind = "olama"', "[judge]", "\xff", "= 1", "[usage]",
                              'databases = ["*.sqlite"]'])  # fmt: skip
CONFIGS = st.one_of(  # mostly a good config (or none), so that the commands get past it
    st.none(), st.just(CONFIG.encode()), st.just(CONFIG.encode()), st.just(CONFIG.encode()),
    st.lists(st.one_of(TOML_LINES, st.text(max_size=20)), max_size=6).map(lambda ls: "\n".join(ls).encode(
        "utf-8", "surrogatepass")),
    st.binary(max_size=60),
)  # fmt: skip
EVENTS = st.one_of(
    st.just(b'{"event_id": "e1", "kind": "main", "model": "m1", "success": true, "latency_s": 1.0, "rating": 1,'
            b' "comment": "[/INST] [red]x", "created_at": "2026-11-01T10:00:00"}\n'),
    st.lists(st.sampled_from(['{"event_id": "e2", "model": "[/]"}', '{"event_id": null}', "{", '{"turn": "x"}',
                              '{"event_id": "e3", "created_at": "yesterday"}', "\ufeff{}", "", "[1]"]),
             max_size=3).map(lambda ls: "\n".join(ls).encode()),
    st.binary(max_size=40),
)  # fmt: skip
STORES = st.sampled_from(["valid", "valid", "missing", "truncated", "garbage", "empty", "folder"])
# option values as a user types them, and text (no NUL: a command line cannot carry one)
TEXT = st.text(st.characters(blacklist_characters="\x00", blacklist_categories=["Cs"]), max_size=12)
QUARTERS = st.one_of(st.sampled_from(["2026-Q1", "2026-Q4", "2026-Q5", "2026-q1", "26-Q1", "", "--json"]), TEXT)
FORMATS = st.one_of(st.sampled_from(["csv", "jsonl", "parquet", "html", "json", "xlsx", "", "CSV"]), TEXT)
OUTS = st.one_of(st.sampled_from(["out/x.csv", "out", "-", "", "/nonexistent-llamune/x", "/proc/x", "config.toml",
                                  "out/" + "x" * 300]), TEXT.map(lambda t: f"out/{t}"))  # fmt: skip
NAMES = st.one_of(st.sampled_from(["m1", "m2", "m1:p", "m2:p", "m1:nope", "nope", "", ":", "s", "[/]"]), TEXT)
COMMANDS = st.sampled_from(["results", "export", "usage-ingest", "usage", "report", "compare", "suites", "recommend",
                            "sessions"])  # fmt: skip


@st.composite
def _argv(draw: st.DrawFn, command: str) -> list[str]:
    store = ["--store", "store.duckdb"] if draw(st.booleans()) else []
    config = ["--config", "config.toml"] if draw(st.booleans()) else []
    as_json = ["--json"] if draw(st.booleans()) else []
    if command == "results":
        filters = draw(st.lists(st.tuples(st.sampled_from(["--suite", "--model", "--preset", "-s", "-m"]), NAMES),
                                max_size=2))  # fmt: skip
        args = ["results", *store, *config, *as_json, *(x for pair in filters for x in pair)]
    elif command == "export":
        args = ["export", "--format", draw(FORMATS), "--out", draw(OUTS), *store, *config]
    elif command == "usage-ingest":
        paths = draw(st.lists(st.sampled_from(["events.jsonl", "chat.sqlite", "config.toml", "store.duckdb", "nope",
                                               "out"]), min_size=1, max_size=2))  # fmt: skip
        args = ["usage", "ingest", *paths, *store, *config]
    elif command == "usage":
        quarter = ["--quarter", draw(QUARTERS)] if draw(st.booleans()) else []
        args = ["usage", *quarter, *store, *config, *as_json]
    elif command == "report":
        quarter = ["--quarter", draw(QUARTERS)] if draw(st.booleans()) else []
        fmt = ["--format", draw(FORMATS)] if draw(st.booleans()) else []
        args = ["report", "--out", draw(st.sampled_from(["-", "out/report"])), *quarter, *fmt, *store, *config]
    elif command == "compare":
        args = ["compare", draw(NAMES), draw(NAMES), *store, *config, *as_json]
    elif command == "suites":
        args = ["suites", *config, *as_json]
    elif command == "recommend":
        args = ["recommend", "--quarter", draw(QUARTERS), "--out", "out/recommended", *store, *config, *as_json]
    else:
        db = draw(st.sampled_from(["chat.sqlite", "store.duckdb", "config.toml", "out/c.sqlite"]))
        return ["sessions", "--db", db, *as_json]
    if draw(st.integers(0, 3)):
        return args
    return [*args, draw(st.one_of(st.sampled_from(["--bogus", "-x", "--store", "--json=1", "--", "extra"]), TEXT))]


def _digests(folder: Path, skip: set[str]) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name not in skip}  # fmt: skip


def _prepare(folder: Path, config: bytes | None, events: bytes, store: str) -> set[str]:
    """The inputs of one example; returns the files a command may rightly change (a valid store it writes to)."""
    if config is not None:
        (folder / "config.toml").write_bytes(config)
        (folder / "llamune.toml").write_bytes(config)
    (folder / "events.jsonl").write_bytes(events)
    (folder / "chat.sqlite").write_bytes(CHAT)
    (folder / "out").mkdir()
    target = folder / "store.duckdb"
    if store == "valid":
        target.write_bytes(STORE)
    elif store == "truncated":
        target.write_bytes(STORE[: len(STORE) // 3])
    elif store == "garbage":
        target.write_bytes(b"\x00not a store\xff" * 100)
    elif store == "empty":
        target.write_bytes(b"")
    elif store == "folder":
        target.mkdir()
    if target.is_file():  # the default store, for the command lines without --store
        shutil.copy(target, folder / "llamune.duckdb")
    return {"store.duckdb", "llamune.duckdb", "store.duckdb.wal", "llamune.duckdb.wal"} if store == "valid" else set()


def _run(folder: Path, argv: list[str]) -> subprocess.CompletedProcess[str]:
    module = "llamune_eval.chat.cli" if argv[0] == "sessions" else "llamune_eval.cli.main"
    env = {**os.environ, "COLUMNS": "200", "LLAMUNE_SETTINGS": str(folder / "settings.toml")}
    return subprocess.run([sys.executable, "-m", module, *argv], cwd=folder, capture_output=True, text=True,
                          errors="replace", timeout=120, env=env)  # fmt: skip


@FUZZ
@given(command=COMMANDS, data=st.data(), config=CONFIGS, events=EVENTS, store=STORES)
def test_cli(command: str, data: st.DataObject, config: bytes | None, events: bytes, store: str) -> None:
    argv = data.draw(_argv(command), label="argv")
    folder = WORK / f"cli-{next(COUNTER)}"
    folder.mkdir()
    changeable = _prepare(folder, config, events, store)
    if command == "sessions":  # an empty file is a new chat database, which `llamune` sets up (as it does its own)
        changeable |= {p.name for p in folder.iterdir() if p.is_file() and not p.stat().st_size}
    before = _digests(folder, changeable)
    proc = _run(folder, argv)
    err = proc.stderr.strip()
    assert "Traceback" not in proc.stderr, (argv, proc.stderr)
    assert proc.returncode in (0, 1, 2), (argv, proc.returncode, err)
    if proc.returncode:
        assert err.startswith("error:") and len(err.splitlines()) == 1, (argv, err)
    after = _digests(folder, changeable)
    assert {k: after.get(k) for k in before} == before, (argv, "an input was changed")  # new files are outputs
    shutil.rmtree(folder)  # a passing example's files (two stores) would add up over `nox -s fuzz`
