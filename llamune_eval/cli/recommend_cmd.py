"""`llamune-eval recommend`: decide the quarter's settings from the store and publish (or preview) them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from llamune_eval.cli._common import load_config, run_async
from llamune_eval.ui import console, err_console, print_json

STATUS = {
    "published": "published",
    "revised": "published as a revision",
    "unchanged": "unchanged: the same decision is already published",
    "preview": "preview (llamune never applies it)",
}


def listed_if_needed(cfg: Any, store: Any) -> list[Any]:
    """The engines' model lists, asked only when a stored model's size is not known from the runs or the config
    (recommend needs no engine otherwise)."""
    from llamune_eval.store.selection import model_facts

    facts = model_facts(store)
    unknown = [
        m for m in store.models() if not facts.get(m, {}).get("size_bytes") and m not in cfg.recommend.model_sizes
    ]
    if not unknown:
        return []
    from llamune_eval.engines import open_engine

    async def listed() -> list[Any]:
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
        listed = listed_if_needed(cfg, store)
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
