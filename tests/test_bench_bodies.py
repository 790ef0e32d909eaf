"""The short-request benchmark's bare loops build their request bodies in a few lines of their own (they import
nothing of llamune_eval, so none of our cost hides in the baseline): those bodies must be exactly what the engine
layer sends for the same items, or the ratio compares different work."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from bench.short_requests import PRESET, body, make_suite
from llamune_eval.config import Config
from llamune_eval.runner.sweep import Sweep, sweep
from tests.stubs.faults import FaultServer


def test_the_bare_loops_send_what_the_sweep_sends(tmp_path: Path) -> None:
    items = make_suite(tmp_path / "suites", 20)
    with FaultServer() as srv:
        cfg = Config.model_validate({
            "engines": [{"kind": "openai", "url": srv.url, "max_concurrency": 8}],
            "paths": {"store": str(tmp_path / "s.duckdb")},
            "run": {"suites_dir": str(tmp_path / "suites"), "presets": ["short"]},
            "presets": {"short": PRESET},
        })  # fmt: skip
        outcome = asyncio.run(sweep(cfg, Sweep()))
        outcome.store.close()
        sent = [r.json() for r in srv.server.requests if r.path == "/v1/chat/completions"]
    ours = [body(json.loads(line), "m") for line in items.read_text(encoding="utf-8").splitlines()]
    key = json.dumps  # bodies compared whole, as JSON
    assert len(sent) == 20 and sorted(map(key, sent)) == sorted(map(key, ours))
