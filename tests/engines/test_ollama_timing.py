"""Ollama as operators run it, through the runner: a queue of one (OLLAMA_NUM_PARALLEL=1), loading before timing,
a reasoning model, and a prompt that does not fit its context. Against the Ollama test server with llama.cpp."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llamune_eval.config import Config
from llamune_eval.engines.embedded import EmbeddedServer
from llamune_eval.runner.sweep import Sweep, sweep
from llamune_eval.store.selection import scores_of
from tests.conftest import SMOL_CTX
from tests.stubs.ollama_server import OllamaModel, OllamaStub

ROOT = Path(__file__).resolve().parents[2]
NAME, THINKER = "smollm2:135m", "smol-r1:135m"
PASSAGE = ("茶道は、湯をわかして茶を点て、客にふるまう日本の伝統文化である。安土桃山時代に千利休が"
           "わび茶を大成し、現在の三千家はいずれも利休の流れをくんでいる。茶会では抹茶とともに"
           "和菓子が出されることが多い。")  # fmt: skip


def _suite(root: Path, items: int, repeat: int) -> Path:
    folder = root / "suites" / "long"
    folder.mkdir(parents=True)
    (folder / "suite.yaml").write_text("name: long\nversion: '1'\ncategory: general\nscoring: contains\n"
                                       "max_tokens: 8\nitems: items.jsonl\n")  # fmt: skip
    # each prompt differs from its first token, so no prompt cache shortens one prompt's evaluation
    rows = [{"id": f"q{i}", "input": f"問{i}。{PASSAGE * repeat}\n茶道を大成したのは誰ですか。", "reference": "千利休"}
            for i in range(items)]  # fmt: skip
    (folder / "items.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n")
    return root / "suites"


def _config(root: Path, url: str, **extra: object) -> Config:
    return Config.model_validate({
        "engines": [{"kind": "ollama", "url": url, "max_concurrency": 4}],
        "paths": {"store": str(root / "r.duckdb"), "data": str(root / "no-data")},
        "run": {"suites_dir": str(root / "suites"), "presets": ["short"], "models": [NAME]},
        "presets": {"short": {"base": "fast", "num_ctx": 2048}}, **extra,
    })  # fmt: skip


async def test_a_queue_of_one_is_not_counted_as_ttft(tmp_path: Path, smollm2_server: EmbeddedServer,
                                                     smollm2_path: Path) -> None:  # fmt: skip
    """Four requests at once, one served at a time: each stored latency is the engine's own work as the server
    reported it (the wait taken out, so TTFT within it), the wait is stored apart, and the model was loaded before
    timing began."""
    assert smollm2_server.url
    model = OllamaModel(NAME, smollm2_path, smollm2_server.url, SMOL_CTX, num_parallel=1, load_s=0.3)
    _suite(tmp_path, 4, 2)
    with OllamaStub([model]).start() as stub:  # four at once, as an operator might force with --concurrency 4
        outcome = await sweep(_config(tmp_path, stub.url), Sweep(concurrency=4))
        reports = [r for r in stub.reports if "茶道" in r["prompt"]]  # not the parallelism probe's
    first = model.bodies[0]
    assert first["messages"] == [] and first["keep_alive"] == "30m" and first["options"] == {"num_ctx": 2048}
    assert all(b["keep_alive"] == "30m" and b["options"]["num_ctx"] == 2048 for b in model.bodies[1:])
    assert len(reports) == 4
    with outcome.store as store:
        rows = store.samples()
    assert len(rows) == 4 and all(r.status == "ok" and r.attempts == 1 for r in rows)
    by_prompt = {r.prompt: r for r in rows}
    for report in reports:
        row = by_prompt[json.dumps([report["prompt"]], ensure_ascii=False)]
        assert row.latency_s == pytest.approx(report["prompt_eval_s"] + report["eval_s"], rel=1e-9)
        assert 0 < row.ttft_s <= row.latency_s  # the first token, counted from the engine's start
        assert row.queue_s >= report["queued_s"]  # the stub's own wait for a slot is inside what is stored apart
        assert row.load_s is None or row.load_s == 0  # loaded by the warm-up, never inside a sample
    assert sum(r["queued"] for r in reports) >= 2  # the queue was real: the stub held them for its one slot


async def test_a_reasoning_model_is_scored_on_its_answer(tmp_path: Path, smollm2_server: EmbeddedServer,
                                                         smollm2_path: Path) -> None:  # fmt: skip
    """It thinks first (message.thinking); with a thinking budget it answers and the answer is what is scored;
    without one its thinking eats the 8-token cap and the answer is empty."""
    assert smollm2_server.url
    thinker = OllamaModel(THINKER, smollm2_path, smollm2_server.url, SMOL_CTX, thinks=True)
    _suite(tmp_path, 2, 1)
    with OllamaStub([thinker]).start() as stub:
        cfg = _config(tmp_path, stub.url, models={THINKER: {"thinking_budget": 64, "think": True}})
        cfg.run.models = [THINKER]
        outcome = await sweep(cfg, Sweep())
        with outcome.store as store:
            budgeted = store.samples()
        sent = thinker.bodies[-1]
        cfg2 = _config(tmp_path / "no-budget", stub.url)
        cfg2.run.suites_dir = tmp_path / "suites"
        cfg2.run.models = [THINKER]
        starved = await sweep(cfg2, Sweep())
        with starved.store as store:
            cut = store.samples()
    assert sent["think"] is True and sent["options"]["num_predict"] == 8 + 64
    assert len(budgeted) == len(cut) == 2
    for row in budgeted:
        assert json.loads(row.thinking) == [thinker.thought]
        answer = json.loads(row.output)[0]
        assert answer and thinker.thought not in answer  # the answer alone, as the scorer read it
    assert all(json.loads(r.output) == [""] and r.finish_reason == "length" for r in cut)


async def test_a_prompt_that_fills_the_context_is_an_error_not_a_score(tmp_path: Path,
                                                                       smollm2_server: EmbeddedServer,
                                                                       smollm2_path: Path) -> None:  # fmt: skip
    assert smollm2_server.url
    model = OllamaModel(NAME, smollm2_path, smollm2_server.url, SMOL_CTX)
    _suite(tmp_path, 1, 6)
    with OllamaStub([model]).start() as stub:
        cfg = _config(tmp_path, stub.url)
        cfg.presets = {"short": {"base": "fast", "num_ctx": 64}}
        outcome = await sweep(cfg, Sweep())
    with outcome.store as store:
        [row] = store.samples()
        scores = scores_of(store, [row.key])
    assert row.status == "error" and row.error_kind == "truncated" and row.attempts == 1
    assert "num_ctx 64" in row.error and scores == {}


async def test_the_servers_parallelism_is_measured_and_matched(tmp_path: Path, smollm2_server: EmbeddedServer,
                                                               smollm2_path: Path) -> None:  # fmt: skip
    """Not configured: when the model is loaded, four small requests at once tell how many the server answers
    together, and the run then sends no more than that, so nothing waits in Ollama's queue."""
    from llamune_eval.engines import Engine, OllamaBackend

    assert smollm2_server.url
    for parallel in (1, 2, 4):  # Ollama's default, two, and as many as we would send
        model = OllamaModel(NAME, smollm2_path, smollm2_server.url, SMOL_CTX, num_parallel=parallel)
        with OllamaStub([model]).start() as stub:
            backend = OllamaBackend(stub.url, max_concurrency=4)
            async with Engine([backend]) as engine:
                await engine.prepare(NAME, 2048)
                assert await engine.width(NAME) == parallel
            configured = OllamaBackend(stub.url, max_concurrency=4, num_parallel=3)
            async with Engine([configured]) as engine:
                await engine.prepare(NAME, 2048)
                assert await engine.width(NAME) == 3  # the operator's word, without measuring
