"""The measure stage and the contention check on the real embedded engine with the bundled pair, through the
quarter a new user runs (`llamune-eval run`, default presets): every configuration's memory measured at its own
context and close to the GGUF estimate, speed that no longer depends on run order, and `concurrentLimit` that is
the rule applied to the figures this machine gave (never a hard-coded limit), shown in the report.

Which models a decision runs together depends on answers no test can choose, so the contention test sets the
stored scores (Qwen right where SmolLM2 is wrong but once) to make SmolLM2 Qwen's cross-check; the check itself,
`llamune-eval measure`, `recommend` and `report` then run for real."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from llamune_eval import jsonio
from llamune_eval.analysis.memory import gguf_estimate
from llamune_eval.engines import bundled
from llamune_eval.records import evolve
from llamune_eval.runner.measure import NONCE, NONCE_BYTES
from llamune_eval.store import measures
from llamune_eval.store.results import SampleRecord, Store
from llamune_eval.store.selection import scores_of
from llamune_eval.types import Timing

ROOT = Path(__file__).resolve().parents[2]
QUARTER = "2027-Q1"
SMOL, QWEN = bundled.SMOLLM2.name, bundled.QWEN_CODER.name


@pytest.fixture(scope="module")
def quarter(tmp_path_factory: pytest.TempPathFactory, smollm2_path: Path) -> Path:
    if not bundled.available(bundled.QWEN_CODER):
        pytest.fail(f"second bundled model not installed: {bundled.QWEN_CODER.pip}")
    tmp = tmp_path_factory.mktemp("measured")
    shutil.copytree(ROOT / "suites" / "jcommonsenseqa", tmp / "suites" / "jcommonsenseqa")
    (tmp / "llamune.toml").write_text(
        "[recommend]\nmin_items = 3\n[measure]\nprobes = 3\nmax_tokens = 12\n", encoding="utf-8"
    )
    _cli(tmp, "run", "--limit", "3", "-p", "balanced", "-p", "fast", "--quarter", QUARTER, "--no-progress")
    return tmp


def _cli(folder: Path, *args: str) -> str:
    env = {**os.environ, "COLUMNS": "200", "LLAMUNE_MEASURE__ENABLED": "true"}
    proc = subprocess.run([sys.executable, "-m", "llamune_eval.cli.main", *args], cwd=folder, capture_output=True,
                          text=True, timeout=900, env=env)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def _settings(folder: Path) -> dict[str, Any]:
    found = sorted((folder / "recommended").glob(f"{QUARTER}*.json"))
    return dict(jsonio.loads(found[0].read_bytes()))


def test_memory_is_measured_per_configuration_and_close_to_the_estimate(quarter: Path) -> None:
    with Store(quarter / "llamune.duckdb") as store:
        measured = measures.footprints(store, QUARTER)
    by = {(f.model, f.num_ctx): f for f in measured}
    models = {bundled.SMOLLM2.name: bundled.SMOLLM2, bundled.QWEN_CODER.name: bundled.QWEN_CODER}
    assert set(by) == {(m, ctx) for m in models for ctx in (2048, 4096)}  # fast 2048, balanced 4096
    for (model, ctx), fp in by.items():
        assert fp.source == "measured-rss" and fp.slots == 1
        estimate = gguf_estimate(model, bundled.model_file(models[model]), ctx)
        assert estimate is not None
        assert abs(estimate.bytes - fp.bytes) <= 0.2 * fp.bytes, (model, ctx, estimate.bytes, fp.bytes)
    for model in models:
        assert by[(model, 4096)].bytes > by[(model, 2048)].bytes  # twice the context measures more
    evidence = _settings(quarter)["evidence"]
    configs = [c for t in evidence["tiers"] for c in [t["main"], *t["candidates"]]]
    assert configs and all(c["memorySource"] == "measured-rss" for c in configs)
    for c in configs:
        ctx = 2048 if c["preset"] == "fast" else 4096
        assert c["memoryBytes"] == by[(c["model"], ctx)].bytes and c["memoryNumCtx"] == ctx
    report = jsonio.loads((quarter / "reports" / QUARTER / "report.json").read_bytes())
    shown = {(m["model"], m["numCtx"]): m for m in report["memory"]}
    assert {k: (m["needBytes"], m["source"]) for k, m in shown.items()} == {
        k: (f.bytes, "measured-rss") for k, f in by.items()
    }


def test_presets_of_one_model_are_timed_alike(quarter: Path) -> None:
    """The same conditions for every preset, in llama.cpp's own counts (`cache_n`): each probe's prompt cache held
    the template (what the first probe after the warm-up found, for both presets alike) and at most the bytes of
    the new number, never the probe's text, which the engine evaluated every time."""
    report = jsonio.loads((quarter / "reports" / QUARTER / "report.json").read_bytes())
    assert all(c["speedSource"] == "probe" and c["probes"] == 3 for c in report["configs"])
    assert len(report["configs"]) == 4
    with Store(quarter / "llamune.duckdb") as store:
        timed = measures.timings(store, QUARTER, "speed")
    by_model: dict[str, dict[str, list[Timing]]] = {}
    for t in timed:
        by_model.setdefault(t.model, {}).setdefault(t.preset, []).append(t)
    assert {m: sorted(p) for m, p in by_model.items()} == {m: ["balanced", "fast"] for m in (SMOL, QWEN)}
    number = len(("\n" + NONCE.format("0" * 2 * NONCE_BYTES)).encode())  # a token holds one byte or more
    for model, presets in by_model.items():
        rows = [t for ts in presets.values() for t in ts]
        assert all(sorted(t.probe for t in ts) == [0, 1, 2] for ts in presets.values())
        assert all(t.ok and t.cached_tokens is not None and t.prompt_tokens for t in rows), (model, rows)
        firsts = {min(t.cached_tokens or 0 for t in ts) for ts in presets.values()}
        assert len(firsts) == 1, (model, rows)  # both presets' probes started from the same cache: the template
        [floor] = firsts
        for t in rows:
            assert floor <= (t.cached_tokens or 0) <= floor + number < (t.prompt_tokens or 0), (model, t)
    html = (quarter / "reports" / QUARTER / "index.html").read_text(encoding="utf-8")
    assert "プロンプトキャッシュを使わせません" in html  # the method is stated


def _qwen_main_smol_catches(store_path: Path) -> None:
    """Qwen right on every item but the first, SmolLM2 right on the first only: Qwen leads, SmolLM2 catches."""
    with Store(store_path) as store:
        rows = [r for r in store.samples() if r.status == "ok"]
        first = min(r.item_id for r in rows)
        scores = scores_of(store, [r.key for r in rows])
        writer = store.writer()
        for r in rows:
            right = (r.item_id == first) == r.model.startswith("smollm2")
            values = {k: (1.0 if right else 0.0) if k.endswith("correct") else v for k, v in scores[r.key].items()}
            writer.put(SampleRecord(evolve(r, parse_ok=True), values))
        writer.close()


def test_concurrent_limit_is_the_rule_on_this_machines_figures(quarter: Path) -> None:
    _qwen_main_smol_catches(quarter / "llamune.duckdb")
    measured = jsonio.loads(_cli(quarter, "measure", "--quarter", QUARTER, "--json"))
    assert measured["contentionSets"] == 1 and measured["contentionProbes"] >= 4  # alone, then at least one step
    _cli(quarter, "recommend", "--quarter", QUARTER, "--revise", "--json")
    _cli(quarter, "report", "--quarter", QUARTER)
    settings = _settings(quarter)
    evidence = settings["evidence"]
    machine = evidence["measurement"]["machine"]
    assert machine["cores"] == os.cpu_count() and machine["memoryBytes"] > 0
    html = (quarter / "reports" / QUARTER / "index.html").read_text(encoding="utf-8")
    table = re.search(r'<table id="contention">(.*?)</table>', html, re.S)
    assert table is not None
    for tier, ev in zip(settings["tiers"], evidence["tiers"], strict=True):
        assert tier["executionOrder"][0].startswith("qwen") and tier["executionOrder"][1].startswith("smollm2")
        c = ev["contention"]
        assert c["measured"] and c["main"] == ev["main"]["config"] and c["maxSlowdown"] == 1.15
        alone = c["alone"]
        limit = 1
        for step in c["steps"]:  # the rule, applied here to the figures the check stored
            ttft, rate = step["ttftS"] / alone["ttftS"], alone["tokensPerS"] / step["tokensPerS"]
            assert step["ttftSlowdown"] == pytest.approx(ttft) and step["tokensPerSSlowdown"] == pytest.approx(rate)
            ok = ttft <= c["maxSlowdown"] and rate <= c["maxSlowdown"]
            assert step["within"] == ok
            if not ok or step["concurrent"] != limit + 1:
                break
            limit += 1
        assert tier["concurrentLimit"] == c["limit"] == limit
        shown = table.group(1)
        for step in c["steps"]:  # the report shows the figures the limit rests on
            assert f"{step['ttftSlowdown']:.2f}" in shown and f"{step['tokensPerSSlowdown']:.2f}" in shown
        assert f"{alone['ttftS']:.3f}" in shown and f'<td class="num">{limit}</td>' in shown
    assert settings["concurrentLimit"] == settings["tiers"][0]["concurrentLimit"]
