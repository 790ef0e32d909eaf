"""`compare`: paired tests per suite on crafted results whose right answer is known."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from llamune_eval.analysis import Evidence, SuiteComparison, compare_configs
from llamune_eval.analysis.pairs import pick, verdict
from llamune_eval.records import Sample
from llamune_eval.store.results import SAMPLE_COLUMNS, SampleRecord, Store, now
from llamune_eval.types import InputError
from tests.stubs.faults import FaultServer

ROOT = Path(__file__).resolve().parents[2]


def _put(store: Store, rows: list[tuple[str, str, str, str, int, dict[str, float]]]) -> None:
    writer = store.writer()
    for n, (suite, kind, model, preset, item, scores) in enumerate(rows):
        row = {c: None for c in SAMPLE_COLUMNS} | {
            "key": f"{n}", "suite": suite, "kind": kind, "model": model, "preset": preset, "item_id": str(item),
            "repeat": 0, "status": "ok", "params": "{}", "output": "[]", "created_at": now(), "parse_ok": True,
        }  # fmt: skip
        writer.put(SampleRecord(Sample.model_validate(row), scores))
    writer.close()


def compare(store: Store, a: str, b: str) -> tuple[str, str, list[SuiteComparison]]:
    ev = Evidence.load(store)
    return a, b, compare_configs(ev, pick(ev, a), pick(ev, b))


def test_a_clear_difference_is_found_and_an_equal_suite_is_not(tmp_path: Path) -> None:
    rows = []
    for i in range(60):
        rows.append(("jnli", "jnli", "qwen:0.5b", "fast", i, {"correct": float(i % 10 < 8)}))
        rows.append(("jnli", "jnli", "smol:135m", "fast", i, {"correct": float(i % 10 < 3)}))
        f1 = (i % 7) / 7
        rows.append(("jsquad", "jsquad", "qwen:0.5b", "fast", i, {"f1": f1, "em": 0.0}))
        rows.append(("jsquad", "jsquad", "smol:135m", "fast", i, {"f1": f1, "em": 0.0}))
    with Store(tmp_path / "r.duckdb") as store:
        _put(store, rows)
        a, b, result = compare(store, "qwen:0.5b", "smol:135m")
    by_suite = {r.suite: r for r in result}
    assert by_suite["jnli"].test == "McNemar exact" and by_suite["jnli"].diff == pytest.approx(0.5)
    assert by_suite["jnli"].p_holm < 0.001
    assert by_suite["jsquad"].diff == 0 and by_suite["jsquad"].p_holm == 1.0
    assert verdict(a, b, result, 0.05) == (
        "qwen:0.5b is better on jnli; no significant difference elsewhere (Holm-corrected, alpha 0.05)."
    )


def test_model_preset_selectors_and_errors(tmp_path: Path) -> None:
    rows = [("jnli", "jnli", "m:7b", p, i, {"correct": float(i % 2)}) for p in ("fast", "code") for i in range(10)]
    with Store(tmp_path / "r.duckdb") as store:
        _put(store, rows)
        ev = Evidence.load(store)
        a, b = pick(ev, "m:7b:fast"), pick(ev, "m:7b:code")
        assert (a.model, a.preset, b.preset) == ("m:7b", "fast", "code")
        assert compare_configs(ev, a, b)[0].diff == 0
        with pytest.raises(InputError, match="several presets"):
            compare(store, "m:7b", "m:7b:code")
        with pytest.raises(InputError, match="matches no stored"):
            compare(store, "nope", "m:7b:code")


def test_compare_command(tmp_path: Path) -> None:
    with FaultServer() as srv:
        (tmp_path / "llamune.toml").write_text(
            f'[[engines]]\nkind = "openai"\nurl = "{srv.url}"\n[run]\nsuites_dir = "{ROOT / "suites"}"\n'
            'presets = ["fast", "code"]\n'
        )
        cli = [sys.executable, "-m", "llamune_eval.cli.main"]
        env = {**os.environ, "COLUMNS": "200"}
        run = subprocess.run([*cli, "run", "-s", "extraction", "--no-progress"], cwd=tmp_path, capture_output=True,
                             text=True, timeout=120, env=env)  # fmt: skip
        assert run.returncode == 0, run.stderr
    proc = subprocess.run([*cli, "compare", "m:fast", "m:code", "--json"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60, env=env)  # fmt: skip
    data = json.loads(proc.stdout)
    assert data["suites"][0]["suite"] == "extraction" and data["suites"][0]["n"] == 24
    assert data["verdict"].startswith("no significant difference on any suite")
