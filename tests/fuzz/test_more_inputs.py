"""Fuzzing more of what the project reads (the bad-input issue): recommended settings files and the public key that
checks them, and usage input (JSONL exports and chat databases). Whatever the bytes, loading either works or raises
the project's one-line error naming the file, every input is left byte-identical, and the store stays readable with
nothing lost. `nox -s fuzz` runs many more examples (LLAMUNE_FUZZ_EXAMPLES)."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import example, given, settings
from hypothesis import strategies as st

from llamune_eval.chat.db import Answer, ChatDB
from llamune_eval.settings import RecommendedSettings, canonical, digest_of, load_recommended, newest_recommended
from llamune_eval.store.results import Store
from llamune_eval.store.schema import USAGE_COLUMNS
from llamune_eval.store.usage import event_count
from llamune_eval.types import InputError
from llamune_eval.usage.ingest import ingest

EXAMPLES = int(os.environ.get("LLAMUNE_FUZZ_EXAMPLES", "60"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None)
WORK = Path(tempfile.mkdtemp(prefix="llamune-fuzz-more-"))
COUNTER = itertools.count()


def _fresh(name: str) -> Path:
    """A new folder per example: nothing one example leaves (a -wal file, a lock) reaches the next."""
    folder = WORK / f"{name}-{next(COUNTER)}"
    folder.mkdir()
    return folder


def _one_line_naming(exc: InputError, path: Path) -> None:
    text = str(exc)
    assert str(path) in text, text
    assert len(text.strip().splitlines()) == 1, text


# --- recommended settings -------------------------------------------------------------------------------------------

PARAMS = {"temperature": 0.7, "top_p": 0.9, "top_k": 40, "max_tokens": 500, "repeat_penalty": 1.1, "num_ctx": 4096}


def _model(name: str, priority: int) -> dict[str, Any]:
    return {"name": name, "priority": priority, "purpose": "メイン推論", "parameters": dict(PARAMS), "preset": None}


def _recommended(version: str = "2026-Q2") -> dict[str, Any]:
    """A file of the shape `llamune-eval recommend` publishes: tiers, the quarterly update and evidence."""
    return {
        "version": version, "quarter": version.replace("-", " "), "preview": False,
        "models": [_model("small", 1), _model("mid", 2)], "executionOrder": ["small", "mid"], "concurrentLimit": 1,
        "updatedAt": "2026-03-31T00:00:00Z", "changelog": "初版\n二行目",
        "tiers": [
            {"memoryGB": 16, "models": [_model("small", 1)], "executionOrder": ["small"], "concurrentLimit": 1},
            {"memoryGB": 32, "models": [_model("mid", 1), _model("small", 2)], "executionOrder": ["mid", "small"],
             "concurrentLimit": 2},
        ],
        "update": {"newVersion": version, "oldVersion": "2026-Q1", "changes": ["mid を追加"], "newModels": ["mid"],
                   "deprecatedModels": [], "performanceImprovements": "品質 +3 点",
                   "performanceDetails": [{"tier": 16, "metric": "quality", "before": "a", "after": "b",
                                           "beforeValue": 0.5, "afterValue": 0.6, "change": 0.1, "low": 0.01,
                                           "high": 0.2, "significant": True, "basis": "paired", "description": "x"}]},
        "evidence": {"tiers": [{"decision": {"reason": "best"}}], "runIds": ["r1"]},
    }  # fmt: skip


JSON_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.sampled_from([10**400, -(2**63), 2**64, 0, -1]),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
    st.sampled_from(["2026-Q2", "2026-Q5", "2026-Q2.1", "2026-Q2.2", "", "sha256:", "\n", "[/]"]),
)  # fmt: skip
JSON_VALUES = st.recursive(
    JSON_SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)  # fmt: skip
# raw replacements for the text of a number: what json.dumps never writes but a file can hold
NUMBER_TEXT = st.sampled_from(["1e400", "-1e400", "NaN", "Infinity", "1" * 5000, "0.7e", '"0.7"', "0x10", "07", "[]"])
MUTATIONS = st.sampled_from(["drop", "replace", "add", "wrong-type", "nothing"])


def _mutate(data: Any, draw: st.DataObject) -> Any:
    """One mutation somewhere in the tree: a key dropped, a value replaced (often by another type), a key added."""
    target = data
    for _ in range(draw.draw(st.integers(0, 4), label="depth")):
        children = list(target.items()) if isinstance(target, dict) else list(enumerate(target))
        containers = [v for _, v in children if isinstance(v, dict | list) and v]
        if not containers:
            break
        target = draw.draw(st.sampled_from(containers), label="into")
    if not isinstance(target, dict | list) or not target:
        return data
    keys = list(target) if isinstance(target, dict) else list(range(len(target)))
    key = draw.draw(st.sampled_from(keys), label="key")
    how = draw.draw(MUTATIONS, label="how")
    if how == "drop":
        del target[key]
    elif how == "replace":
        target[key] = draw.draw(JSON_VALUES, label="value")
    elif how == "wrong-type":
        value = target[key]
        target[key] = [value] if not isinstance(value, list) else {"x": value}
    elif how == "add" and isinstance(target, dict):
        target[draw.draw(st.text(max_size=8), label="new key")] = draw.draw(JSON_VALUES, label="value")
    return data


def _seal(data: Any, key: Ed25519PrivateKey | None) -> None:
    """Digest (and signature) recomputed after the mutation, as a careless tool would: the shape checks must hold
    on their own, not only behind the digest."""
    if not isinstance(data, dict):
        return
    try:
        data["digest"] = digest_of(data)
        if key is not None:
            data["signature"] = key.sign(canonical(data)).hex()
    except (ValueError, TypeError):  # NaN or a huge number cannot be sealed: written unsealed
        pass


BYTE_DAMAGE = st.one_of(  # mostly well-formed JSON, so that the shape checks behind the parser are reached
    st.just("none"), st.just("none"), st.sampled_from(["truncate", "not-utf8", "bom", "number", "nul", "empty", "deep"])
)


def _bytes_of(data: Any, damage: str, draw: st.DataObject) -> bytes:
    body = json.dumps(data, ensure_ascii=draw.draw(st.booleans(), label="ascii"), allow_nan=True, indent=2).encode()
    if damage == "truncate":
        return body[: draw.draw(st.integers(0, max(len(body) - 1, 0)), label="cut")]
    if damage == "not-utf8":
        at = draw.draw(st.integers(0, len(body)), label="at")
        return body[:at] + draw.draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x80\x80"])) + body[at:]
    if damage == "bom":
        return b"\xef\xbb\xbf" + body
    if damage == "number":
        return body.replace(b"0.7", draw.draw(NUMBER_TEXT, label="number").encode(), 1)
    if damage == "nul":
        return body.replace(b'"small"', b'"sm\\u0000all"', 1)
    if damage == "empty":
        return b""
    if damage == "deep":
        return b'{"evidence": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    return body


KEY = Ed25519PrivateKey.generate()
PEM = KEY.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
OTHER_PEM = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
KEYS = st.one_of(  # mostly no key, so that the file's own checks are reached
    st.none(), st.none(), st.none(),
    st.sampled_from([PEM, PEM, OTHER_PEM, PEM[:40], PEM.replace(b"PUBLIC", b"PRIVATE"), PEM[:-30] + PEM[-29:],
                     b"not a key", b"", b"-----BEGIN PUBLIC KEY-----\n\xff\xfe\n-----END PUBLIC KEY-----\n"]),
    st.binary(max_size=80),
)  # fmt: skip


@FUZZ
@given(draw=st.data(), damage=BYTE_DAMAGE, seal=st.sampled_from([True, True, False]), sign=st.booleans(),
       key_bytes=KEYS, preview=st.booleans())  # fmt: skip
def test_recommended_file(draw: st.DataObject, damage: str, seal: bool, sign: bool, key_bytes: bytes | None,
                          preview: bool) -> None:  # fmt: skip
    folder = _fresh("recommended")
    data: Any = _recommended()
    for _ in range(draw.draw(st.integers(0, 3), label="mutations")):
        data = _mutate(data, draw)
    if draw.draw(st.integers(0, 9), label="whole") == 0:
        data = draw.draw(JSON_VALUES, label="whole value")
    if seal:
        _seal(data, KEY if sign else None)
    path = folder / "2026-Q2.json"
    path.write_bytes(_bytes_of(data, damage, draw))
    key = None
    if key_bytes is not None:
        key = folder / "key.pem"
        key.write_bytes(key_bytes)
    inputs = {p: p.read_bytes() for p in folder.iterdir()}
    try:
        loaded = load_recommended(path, public_key=key, allow_preview=preview)
        assert isinstance(loaded, RecommendedSettings)
    except InputError as exc:
        _one_line_naming(exc, key if key is not None and str(key) in str(exc) else path)
    finally:
        assert {p: p.read_bytes() for p in folder.iterdir()} == inputs, "an input was changed"


@FUZZ
@given(draw=st.data(), damage=BYTE_DAMAGE, names=st.lists(st.sampled_from(["2026-Q3", "2026-Q3.2", "2027-Q1",
                                                                             "2026-Q3.preview", "schema"]),
                                                         min_size=1, max_size=3, unique=True))  # fmt: skip
def test_newest_recommended_never_fails(draw: st.DataObject, damage: str, names: list[str]) -> None:
    """A folder with fuzzed newer files beside a good older one: the newest valid file is chosen, the others are
    refused with a line each, and nothing in the folder changes."""
    folder = _fresh("folder")
    good = _recommended("2026-Q1")
    good["digest"] = digest_of(good)
    (folder / "2026-Q1.json").write_text(json.dumps(good, ensure_ascii=False), encoding="utf-8")
    for name in names:
        data = _mutate(_recommended(name.split(".preview")[0] if name != "schema" else "2026-Q4"), draw)
        _seal(data, None)
        (folder / f"{name}.json").write_bytes(_bytes_of(data, damage, draw))
    before = {p: p.read_bytes() for p in folder.iterdir()}
    chosen, refused = newest_recommended(folder)
    assert chosen is not None  # the good file at least
    for reason in refused:
        assert str(folder) in reason and len(reason.splitlines()) == 1, reason
    assert {p: p.read_bytes() for p in folder.iterdir()} == before


# --- usage: JSONL exports -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def store() -> Iterator[Store]:
    """One store for the module (opening one per example would dominate): every example must leave it readable."""
    with Store(WORK / "usage.duckdb") as opened:
        yield opened


GOOD_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "event_id": st.text(min_size=1, max_size=6), "source": st.text(max_size=6), "session_id": st.text(max_size=6),
    "message_id": st.integers(0, 99), "turn": st.integers(0, 9),
    "kind": st.sampled_from(["main", "background", "retry"]),
    "model": st.text(max_size=6), "preset": st.sampled_from(["settings", "fast", None]),
    "params": st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
    "ttft_s": st.floats(0, 10), "latency_s": st.floats(0, 10), "prompt_tokens": st.integers(0, 999),
    "completion_tokens": st.integers(0, 999), "success": st.booleans(),
    "error_kind": st.sampled_from([None, "timeout"]),
    "adopted": st.sampled_from([None, True, False]), "rating": st.sampled_from([None, 1, -1]),
    "comment": st.text(max_size=8), "category": st.sampled_from(["general", "coding", "nope"]),
    "created_at": st.sampled_from(["2026-11-01T10:00:00", "2026-11-01 10:00:00.123+09:00", "yesterday", "2026-13-45"]),
}  # fmt: skip
EVENT = st.fixed_dictionaries(
    {}, optional={c: st.one_of(v, v, v, JSON_SCALARS, JSON_VALUES) for c, v in GOOD_VALUES.items()} | {
        "extra": JSON_VALUES}
)  # fmt: skip
EVENT_LINE = st.one_of(
    EVENT.map(lambda e: json.dumps(e, ensure_ascii=False, allow_nan=True)),
    EVENT.map(lambda e: json.dumps({"event_id": "e0", **e}, allow_nan=True)),
    st.sampled_from(['{"event_id": "e1", "kind": "main"}', '{"event_id": null}', '{"event_id": ""}', "[1]", "{",
                     '{"event_id": "e1", "turn": 1e400}', '{"event_id": "e2", "turn": 99999999999999999999}',
                     '{"event_id": "e3", "latency_s": NaN}', "\ufeff{}", "", "   ", "null", '"e1"',
                     '{"event_id": "e4", "event_id": 5}', '{"event_id": {"a": 1}}', '{"event_id": true}',
                     '{"event_id": "\\ud800"}', '{"event_id": "d", "params": ' + "[" * 5000 + "]" * 5000 + "}"]),
    st.text(max_size=20),
)  # fmt: skip
JSONL = st.one_of(
    st.lists(EVENT_LINE, max_size=6).map(lambda lines: "\n".join(lines).encode("utf-8", "surrogatepass")),
    st.binary(max_size=120),
)


def _ingest_checked(store: Store, path: Path, body: bytes) -> None:
    """Ingest works or is one line naming the file; the input is unchanged and the store lost nothing."""
    before = event_count(store)
    try:
        [result] = ingest(store, [path])
        assert result.read >= result.added >= 0
    except InputError as exc:
        _one_line_naming(exc, path)
    finally:
        assert path.read_bytes() == body, f"{path} was changed"
    assert event_count(store) >= before  # nothing lost


@FUZZ
@given(body=JSONL, suffix=st.sampled_from([".jsonl", ".json"]))
@example(body=b'{"event_id": "a"}\n{"event_id": "a", "turn": 2}\n', suffix=".jsonl")  # the same event twice
@example(body=b'{"event_id": "0", "params": ""}', suffix=".jsonl")  # params the store cannot keep as JSON
@example(body=b'{"event_id": "d", "params": ' + b"[" * 5000 + b"]" * 5000 + b'}\n{"created_at": [1]}', suffix=".jsonl")
def test_usage_jsonl(store: Store, body: bytes, suffix: str) -> None:
    path = _fresh("jsonl") / f"events{suffix}"
    path.write_bytes(body)
    _ingest_checked(store, path, body)


def test_a_folder_named_like_an_export_is_one_line(store: Store) -> None:
    folder = _fresh("dir") / "events.jsonl"
    folder.mkdir()
    with pytest.raises(InputError, match=r"events\.jsonl: cannot read"):
        ingest(store, [folder])


# --- usage: chat databases ------------------------------------------------------------------------------------------


def _chat_db() -> bytes:
    """A real chat database, as `llamune chat` leaves it: sessions, messages, rated and /retry events, artifacts."""
    path = WORK / "template.sqlite"
    db = ChatDB(path)
    for s in range(2):
        sid = db.create_session("small", "fast", "丁寧に")
        for turn in (1, 2):
            db.add_message(sid, turn, "user", f"質問 {turn}")
            mid = db.add_message(sid, turn, "assistant", "```python\nprint(1)\n```", model="small",
                                 params={"temperature": 0.7})  # fmt: skip
            db.record_usage(
                sid,
                mid,
                "main",
                Answer(
                    model="small",
                    params={"t": 1},
                    ttft_s=0.1,
                    latency_s=1.5,
                    prompt_tokens=10,
                    completion_tokens=20,
                    category="coding",
                ),
            )
            db.record_usage(sid, None, "background", Answer(model="mid", success=False, error_kind="timeout"))
            db.rate(mid, 1 if turn == 1 else -1, "よい" if s else None)
            db.add_artifact(sid, mid, "python", "print", "print(1)")
        new = db.add_message(sid, 2, "assistant", "別の回答", source="retry", model="mid")
        db.record_usage(sid, new, "retry", Answer(model="mid", latency_s=2.0))
        db.replace_answer(new - 1, new, adopt=True)
    db.close()
    return path.read_bytes()


TEMPLATE = _chat_db()
SQL_VALUES = st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1), st.floats(), st.text(max_size=10),
                       st.binary(max_size=6), st.sampled_from(["", "x", "2026-13-45", "1e400", "true"]))  # fmt: skip
USAGE_TEXT_COLUMNS = ("event_id", "session_id", "kind", "model", "preset", "params", "error_kind", "comment",
                      "category", "created_at")  # fmt: skip
SQL_COLUMNS = st.sampled_from([c for c in USAGE_COLUMNS if c not in ("source", "turn")] + ["id"])
STRUCTURE = st.sampled_from([
    "DROP TABLE usage_events", "DROP TABLE messages", "ALTER TABLE usage_events RENAME TO usage_old",
    "ALTER TABLE usage_events DROP COLUMN rating", "ALTER TABLE messages DROP COLUMN turn",
    "ALTER TABLE usage_events RENAME COLUMN latency_s TO latency",
    "ALTER TABLE usage_events ADD COLUMN extra BLOB DEFAULT x'00ff'",
    # the same rows without any constraint: duplicate ids, NULL ids
    "CREATE TABLE loose AS SELECT * FROM usage_events; DROP TABLE usage_events; ALTER TABLE loose RENAME TO "
    "usage_events; INSERT INTO usage_events SELECT * FROM usage_events",
    "CREATE TABLE loose AS SELECT * FROM usage_events; DROP TABLE usage_events; ALTER TABLE loose RENAME TO "
    "usage_events; UPDATE usage_events SET event_id = NULL WHERE id = 2",
    "UPDATE usage_events SET model = CAST(x'ff41' AS TEXT)", "UPDATE messages SET turn = 'two'",
    "DELETE FROM usage_events", "PRAGMA journal_mode=DELETE", "PRAGMA user_version=99",
])  # fmt: skip


@FUZZ
@given(
    changes=st.lists(st.one_of(STRUCTURE, st.tuples(SQL_COLUMNS, SQL_VALUES, st.integers(0, 12))), max_size=3),
    damage=st.sampled_from(["none", "none", "flip", "truncate", "zero-page"]),
    flips=st.lists(st.tuples(st.integers(0, 2**20), st.integers(1, 255)), min_size=1, max_size=8),
    cut=st.floats(0, 1),
)
@example(changes=[("ttft_s", "abc", 1)], damage="none", flips=[(0, 1)], cut=0.0)  # a word where a number belongs
@example(changes=[("created_at", b"\xff\x00", 0)], damage="none", flips=[(0, 1)], cut=0.0)  # binary data
@example(changes=[], damage="flip", flips=[(4023, 128)], cut=0.0)  # a byte of the schema's text: names not UTF-8
def test_usage_chat_database(store: Store, changes: list[Any], damage: str, flips: list[tuple[int, int]],
                             cut: float) -> None:  # fmt: skip
    path = _fresh("sqlite") / "chat.sqlite"
    path.write_bytes(TEMPLATE)
    con = sqlite3.connect(path)
    try:
        for change in changes:
            if isinstance(change, str):
                con.executescript(change)
            else:
                column, value, row = change
                con.execute(f"UPDATE usage_events SET {column} = ? WHERE id = ? OR ? = 0", (value, row, row))
        con.commit()
    except sqlite3.Error:
        pass  # a change the earlier ones made impossible (a dropped table): the file is what it is
    finally:
        con.close()
    for sidecar in path.parent.glob("chat.sqlite-*"):
        sidecar.unlink()
    data = bytearray(path.read_bytes())
    if damage == "flip":
        for at, bits in flips:
            data[at % len(data)] ^= bits
    elif damage == "truncate":
        data = data[: int(len(data) * cut)]
    elif damage == "zero-page":
        start = 4096 * int(cut * (len(data) // 4096))
        data[start : start + 4096] = bytes(min(4096, len(data) - start))
    path.write_bytes(bytes(data))
    body = path.read_bytes()
    _ingest_checked(store, path, body)
    shutil.rmtree(path.parent)
