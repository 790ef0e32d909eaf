"""`llamune-eval measure`: the quarter's measure stage on its own (each configuration's memory and timed probes),
then the contention check of the sets of models the current decision chose; prints what was measured."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from llamune_eval.cli._common import fail, load_config, run_async
from llamune_eval.ui import console, err_console, print_json


def measure(config: Path | None, quarter: str, store_path: Path | None, contention: bool, as_json: bool) -> None:
    from llamune_eval.store.results import Store
    from llamune_eval.types import EngineError

    cfg = load_config(config)
    path = Path(store_path or cfg.paths.store)
    if not path.exists():
        fail(f"{path}: no results store yet (run `llamune-eval run` first)")

    async def go(store: Any) -> dict[str, Any]:
        from llamune_eval.analysis import Evidence
        from llamune_eval.engines import open_engine
        from llamune_eval.runner.measure import measure_quarter

        ev = Evidence.for_quarter(store, cfg, quarter)
        if not ev.configs:
            fail(f"{path}: no samples for {quarter} to measure (run `llamune-eval run --quarter {quarter}` first)")
        async with open_engine(cfg) as engine:
            done = await measure_quarter(cfg, store, quarter, engine, ev)
            sets = timed = 0
            if contention:
                from llamune_eval.recommend import build
                from llamune_eval.runner.contention import check_decision
                from llamune_eval.settings import Tier

                ev = Evidence.for_quarter(store, cfg, quarter)
                draft = build(
                    store, cfg, quarter, await engine.list_models(), cfg.paths.recommended, ev=ev, preview=True
                )
                tiers = [Tier.model_validate(t) for t in draft["tiers"]]
                sets, timed = await check_decision(cfg, store, quarter, engine, tiers, ev)
        return {"measure": done.describe(), "contentionSets": sets, "contentionProbes": timed,
                "footprints": [f.model_dump(mode="json") for f in done.footprints]}  # fmt: skip

    try:
        with Store(path) as store:
            out = run_async(lambda: go(store))
    except (EngineError, TimeoutError) as exc:
        fail(f"measure: {exc}")
    if as_json:
        print_json(out)
        return
    console.print(out["measure"], highlight=False, markup=False)
    if contention:
        err_console.print(
            f"contention: {out['contentionSets']} set(s) of models, {out['contentionProbes']} probes timed "
            "(`llamune-eval recommend` writes the limits)",
            markup=False,
        )
