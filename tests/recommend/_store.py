"""A results store filled the way a run fills it (through the store's journal), with outcomes we choose: the preset's
own parameters beside the capped ones a benchmark request sent, as `run` records them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from llamune_eval.presets import BUILTIN
from llamune_eval.records import Sample
from llamune_eval.runner.plan import effective_params
from llamune_eval.store.results import SampleRecord, Store, now
from llamune_eval.store.schema import SAMPLE_COLUMNS
from llamune_eval.types import ModelInfo

GB = 1024**3
PRESET = BUILTIN["general"]
# model -> (is item i right?, median latency); 200 items. A is the best trade-off; B is dominated by A; C is fast
# and weak; D errs exactly where A errs; E is right where A is wrong; F is best of all but needs a big machine.
MODELS: dict[str, tuple[Callable[[int], bool], float]] = {
    "A": (lambda i: i % 10 < 8, 2.0),
    "B": (lambda i: i % 10 < 6, 3.0),
    "C": (lambda i: i % 10 < 5, 0.5),
    "D": (lambda i: i % 10 < 8, 2.5),
    "E": (lambda i: i % 10 >= 4, 1.0),
    "F": (lambda i: i % 20 != 0, 4.0),
}
SIZES = {"A": 2 * GB, "B": 2 * GB, "C": GB, "D": 2 * GB, "E": GB, "F": 40 * GB}


def fill(path: Path, models: dict[str, tuple[Callable[[int], bool], float]] = MODELS, items: int = 200,
         suite: str = "jnli", run_id: str = "r1", quarter: str | None = None) -> Store:  # fmt: skip
    """A store with one JCommonsenseQA-like suite answered by `models` with the general preset."""
    from llamune_eval.benchmarks import Suite
    from llamune_eval.benchmarks.jnli import JNLI

    store = Store(path)
    if quarter is not None:
        store.begin_run(run_id, {}, [], {"models": list(models)}, 0, 0, quarter)
        store.end_run(run_id, "finished")
    bench = Suite(name=suite, kind="jnli", version="v1", template_version="t1", category="reasoning", source="",
                  task=JNLI(), items=[], max_tokens=8)  # fmt: skip
    sent = effective_params(PRESET, bench, 0).model_dump_json()  # max_tokens capped at 8, as the request was
    writer = store.writer()
    for model, (right, latency) in models.items():
        for i in range(items):
            row = {c: None for c in SAMPLE_COLUMNS} | {
                "key": f"{run_id}-{model}-{suite}-{i}", "run_id": run_id, "suite": suite, "suite_version": "v1",
                "template_version": "t1", "kind": "jnli", "category": "reasoning", "item_id": str(i),
                "model": model, "model_digest": "d", "preset": PRESET.name, "params": sent,
                "preset_params": PRESET.params.model_dump_json(), "repeat": 0, "status": "ok",
                "latency_s": latency, "ttft_s": latency / 10, "tokens_per_s": 40.0, "parse_ok": True,
                "created_at": now(),
            }  # fmt: skip
            writer.put(SampleRecord(Sample.model_validate(row), {"correct": float(right(i))}))
    writer.close()
    return store


def listed(sizes: dict[str, int] = SIZES) -> list[ModelInfo]:
    return [ModelInfo(name=m, engine="ollama", endpoint="x", size_bytes=s, parameter_count=s * 2)
            for m, s in sizes.items()]  # fmt: skip
