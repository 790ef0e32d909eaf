"""Fuzzing what a channel hands a user's machine: `index.json` and the settings files it lists, plausible ones
mixed with garbage. Whatever the bytes, a check installs a file only when it is the published one, or installs
nothing and says why in one line; the settings in force never change otherwise."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import os
import tempfile
from pathlib import Path

from hypothesis import example, given, settings
from hypothesis import strategies as st

from llamune_eval.channel.follow import check
from llamune_eval.channel.index import ChannelError, parse_index
from tests.channel import _files

EXAMPLES = int(os.environ.get("LLAMUNE_FUZZ_EXAMPLES", "60"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None)
WORK = Path(tempfile.mkdtemp(prefix="llamune-fuzz-channel-"))
COUNTER = itertools.count()
KEY, PUBLIC = _files.keypair(WORK / "keys")
GOOD = _files.published(WORK / "operator", "2027-Q1", ["qwen"], KEY).read_bytes()
ENTRY = {"file": "2027-Q1.json", "version": "2027-Q1", "sha256": hashlib.sha256(GOOD).hexdigest(), "size": len(GOOD),
         "signed": True, "updatedAt": "2026-12-01T00:00:00Z"}  # fmt: skip

garbage = st.binary(max_size=300)
field = {k: st.one_of(st.just(v), st.just(v), st.text(max_size=12), st.integers(), st.none()) for k, v in ENTRY.items()}


def _index(entries: list[dict[str, object]], cut: int) -> bytes:
    """An index of `entries`, cut short after `cut` bytes (0: whole)."""
    whole = json.dumps({"format": "llamune-channel/1", "updatedAt": "x", "files": entries}).encode()
    return whole[: cut or None]


plausible = st.builds(_index, st.lists(st.fixed_dictionaries(field), max_size=3), st.integers(0, 200))


@FUZZ
@given(index=st.one_of(garbage, plausible), body=st.one_of(st.just(GOOD), garbage))
@example(index=b'{"format": "llamune-channel/1", "updatedAt": "x", "files": [{"file": "../x.json"}]}', body=GOOD)
@example(index=_index([ENTRY], 0), body=GOOD)  # the published file: installed
def test_a_check_installs_only_the_published_file(index: bytes, body: bytes) -> None:
    channel, mine = WORK / f"c{next(COUNTER)}", WORK / f"u{next(COUNTER)}"
    channel.mkdir()
    (channel / "index.json").write_bytes(index)
    (channel / "2027-Q1.json").write_bytes(body)
    try:
        parse_index(index, "index.json")
    except ChannelError as exc:
        assert len(str(exc).splitlines()) == 1
    done = asyncio.run(check(str(channel), mine, mine / ".state.json", PUBLIC))
    installed = sorted(p.name for p in mine.glob("*.json") if not p.name.startswith(".")) if mine.exists() else []
    if done.installed:
        assert installed == ["2027-Q1.json"] and (mine / "2027-Q1.json").read_bytes() == GOOD == body
    else:
        assert installed == [] and (done.error is None or len(done.error.splitlines()) == 1)
    assert not [p for p in (mine.iterdir() if mine.exists() else []) if p.name.endswith(".tmp")]
    assert not (WORK / "x.json").exists()
