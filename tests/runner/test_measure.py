"""The measure stage's parts that need no bundled pair: Ollama's `/api/ps` figures read and stored as `ollama-ps`
at each context the presets pin (against the Ollama test server with llama.cpp behind it), the GGUF estimate's
cache shape read from a real file, the estimates' order of precedence, and a resumed stage asking nothing again."""

from __future__ import annotations

from pathlib import Path

from llamune_eval.analysis.memory import RUNTIME_BYTES, Memory, gguf_estimate, kv_cache_bytes, size_estimate
from llamune_eval.config import Config
from llamune_eval.engines import open_engine
from llamune_eval.engines.embedded import EmbeddedServer
from llamune_eval.engines.gguf import read_info
from llamune_eval.runner.measure import Target, measure
from llamune_eval.store import measures
from llamune_eval.store.results import Store
from llamune_eval.types import Footprint, SamplingParams
from tests.conftest import SMOL_CTX
from tests.stubs.ollama_server import OllamaModel, OllamaStub

NAME = "smollm2:135m"


def test_the_cache_shape_comes_from_the_header(smollm2_path: Path) -> None:
    info = read_info(smollm2_path)
    # SmolLM2 135M: 30 layers, 3 KV heads of 64 (576 wide, 9 heads): keys and values, 2 bytes each in f16
    assert (info.block_count, info.head_count_kv, info.key_length, info.value_length) == (30, 3, 64, 64)
    assert kv_cache_bytes(info, 4096) == 30 * 3 * (64 + 64) * 4096 * 2
    assert kv_cache_bytes(info, 4096, "q8_0") == int(30 * 3 * 128 * 4096 * 34 / 32)
    estimate = gguf_estimate(NAME, smollm2_path, 2048)
    assert estimate is not None and estimate.source == "gguf-estimate"
    assert estimate.bytes == info.size_bytes + 30 * 3 * 128 * 2048 * 2 + RUNTIME_BYTES


def test_measured_beats_the_header_which_beats_the_size(smollm2_path: Path) -> None:
    measured = Footprint(model=NAME, num_ctx=2048, bytes=123, source="measured-rss")
    memory = Memory([measured], {NAME: smollm2_path}, {NAME: 1000, "other": 1000}, size_factor=1.5)
    assert memory.of(NAME, 2048) == measured
    at_4k = memory.of(NAME, 4096)  # measured at another context only: the header's estimate for this one
    assert at_4k is not None and at_4k.source == "gguf-estimate" and at_4k.num_ctx == 4096
    assert memory.of("other", 4096) == size_estimate("other", 1000, 4096, 1.5)
    assert memory.of("unknown", 4096) is None


async def test_ollama_ps_is_read_at_each_pinned_context(
    tmp_path: Path, smollm2_server: EmbeddedServer, smollm2_path: Path
) -> None:
    assert smollm2_server.url
    model = OllamaModel(NAME, smollm2_path, smollm2_server.url, SMOL_CTX)
    with OllamaStub([model]).start() as stub:
        cfg = Config.model_validate({"engines": [{"kind": "ollama", "url": stub.url, "num_parallel": 4}]})
        targets = [
            Target(NAME, "fast", SamplingParams(temperature=0.0, max_tokens=64, num_ctx=1024)),
            Target(NAME, "long", SamplingParams(temperature=0.0, max_tokens=64, num_ctx=2048)),
        ]
        with Store(tmp_path / "r.duckdb") as store:
            async with open_engine(cfg) as engine:
                first = await measure(store, "2027-Q1", engine, targets, probes=2, max_tokens=8)
                again = await measure(store, "2027-Q1", engine, targets, probes=2, max_tokens=8)
            stored = {f.num_ctx: f for f in measures.footprints(store, "2027-Q1")}
            timed = measures.timings(store, "2027-Q1", "speed")
    assert first.timed == 4 and first.errors == 0
    assert again.timed == 0 and again.skipped == 4 and not again.footprints  # resumed: nothing asked again
    assert set(stored) == {1024, 2048}
    for ctx, fp in stored.items():
        model.ctx = ctx
        assert fp.source == "ollama-ps" and fp.bytes == OllamaStub.resident(model) and fp.vram_bytes == 0
    assert stored[2048].bytes > stored[1024].bytes
    loads = [b["options"]["num_ctx"] for b in model.bodies if not b.get("messages")]
    assert loads[:2] == [1024, 2048]  # each context loaded before its probes were timed
    assert {(t.preset, t.probe) for t in timed} == {("fast", 0), ("fast", 1), ("long", 0), ("long", 1)}
    assert all(t.ok and t.ttft_s and t.tokens_per_s and t.completion_tokens for t in timed)
    firsts = [b["messages"][0]["content"].splitlines()[0] for b in model.bodies if b.get("messages")]
    numbered = [line for line in firsts if line.startswith("（計測 ")]
    assert (
        len(numbered) == 4 and len(set(numbered)) == 4
    )  # every timed prompt opens with a new number: no prompt cache serves it
