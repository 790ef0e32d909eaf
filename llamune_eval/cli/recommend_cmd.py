"""`llamune-eval recommend`: decide the quarter's settings from the store and publish (or preview) them."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from llamune_eval.cli._common import load_config, run_async
from llamune_eval.ui import console, err_console, print_json

if TYPE_CHECKING:
    from llamune_eval.config import Config
    from llamune_eval.store.results import Store
    from llamune_eval.types import ModelInfo

STATUS = {
    "published": "published",
    "revised": "published as a revision",
    "unchanged": "unchanged: the same decision is already published",
    "preview": "preview (llamune never applies it)",
}


def listed_if_needed(cfg: Config, store: Store, quarter: str) -> list[ModelInfo]:
    """The engines' model lists, asked only when the memory of a stored model is not known from the runs, the
    config or the quarter's measurements (recommend needs no engine otherwise)."""
    from llamune_eval.analysis.memory import Memory
    from llamune_eval.store import measures
    from llamune_eval.store.selection import model_facts

    memory = Memory.of_config(cfg, model_facts(store), measures.footprints(store, quarter))
    if all(memory.knows(m) for m in store.models()):
        return []
    from llamune_eval.engines import open_engine

    async def listed() -> list[ModelInfo]:
        async with open_engine(cfg) as engine:
            return await engine.list_models()

    return run_async(listed)


def recommend(
    config: Path | None,
    quarter: str,
    out: Path | None,
    store_path: Path | None,
    preview: bool,
    revise: bool,
    as_json: bool,
) -> None:
    from llamune_eval.cli._common import fail
    from llamune_eval.store.results import Store

    cfg = load_config(config)
    folder = out or cfg.paths.recommended
    path = Path(store_path or cfg.paths.store)
    if not path.exists():
        fail(f"{path}: no results store yet (run `llamune-eval run` first)")
    with Store(path) as store:
        listed = listed_if_needed(cfg, store, quarter)
        from llamune_eval.recommend import decide_and_publish

        data, written, status = decide_and_publish(cfg, store, quarter, listed, folder, preview=preview, revise=revise)
    if as_json:
        print_json(
            {
                "path": str(written),
                "status": status,
                "version": data["version"],
                "preview": data["preview"],
                "tiers": data["tiers"],
                "decisions": [t["decision"] for t in data["evidence"]["tiers"]],
            }
        )
        return
    for tier, ev in zip(data["tiers"], data["evidence"]["tiers"], strict=True):
        console.print(
            f"{tier['memoryGB']} GB: {' → '.join(tier['executionOrder'])} (同時 {tier['concurrentLimit']})",
            highlight=False,
            markup=False,
        )
        console.print(f"  {ev['decision']['reason']}", highlight=False, markup=False)
    err_console.print(f"{written}: {STATUS[status]}", markup=False)
