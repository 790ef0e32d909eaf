"""Evidence built in memory from outcomes we choose: what the decision rule sees, without a store or an engine
(the simulations decide hundreds of quarters)."""

from __future__ import annotations

from collections.abc import Sequence

from llamune_eval.analysis import Evidence
from llamune_eval.presets import BUILTIN
from llamune_eval.store.selection import SampleRow

PARAMS = BUILTIN["balanced"].params.model_dump_json()


def row(model: str, preset: str, suite: str, item: int, *, kind: str = "jnli", latency: float = 1.0,
        ok: bool = True, category: str = "reasoning") -> SampleRow:  # fmt: skip
    return SampleRow(
        key=f"{suite}/{model}/{preset}/{item}", run_id="r1", suite=suite, suite_version="1", template_version="t",
        kind=kind, category=category, item_id=str(item), model=model, model_digest="d", preset=preset,
        params=PARAMS, preset_params=PARAMS, repeat=0, prompt=None, output=None, reference=None, eval_aspect=None,
        parsed=None, parse_ok=True, pending_judge=False, status="ok" if ok else "error", error_kind=None,
        error=None, ttft_s=latency / 10, latency_s=latency, tokens_per_s=50.0, completion_tokens=4, created_at=None,
    )  # fmt: skip


def evidence(outcomes: dict[tuple[str, str], dict[str, Sequence[float]]],
             latencies: dict[tuple[str, str], Sequence[float]] | None = None, seed: int = 0,
             alpha: float = 0.05) -> Evidence:  # fmt: skip
    """(model, preset) -> suite -> per-item `correct` (0/1); latencies per item (default 1 s)."""
    rows: list[SampleRow] = []
    values: dict[str, dict[str, float]] = {}
    for (model, preset), suites in outcomes.items():
        lat = (latencies or {}).get((model, preset))
        for suite, correct in suites.items():
            for i, c in enumerate(correct):
                r = row(model, preset, suite, i, latency=lat[i] if lat is not None else 1.0)
                rows.append(r)
                values[r.key] = {"correct": float(c)}
    return Evidence(rows, values, seed=seed, alpha=alpha)
