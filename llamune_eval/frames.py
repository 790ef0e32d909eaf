"""The notebook API: the store's samples, scores, judgements, usage events and leaderboard as pandas DataFrames.

    from llamune_eval import frames
    df = frames.samples("llamune.duckdb", suite="jnli")
    df.groupby(["model", "preset"]).latency_s.median()

Each function takes the store's path (default: `[paths] store` of the config, read as the CLI reads it) and
filters by quarter, suite and model where they apply. The store is opened read-only and never created: a missing
path is a `StoreError` naming it. Only notebooks and scripts import this module; the CLI and the chat runtime
never do, so pandas stays out of their start-up (design/architecture.md, layer 7).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, fields
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

    from llamune_eval.config import Config
    from llamune_eval.store.results import Store

__all__ = ["judgements", "leaderboard", "samples", "scores", "usage_events"]

PathLike = str | Path


def _config(config: PathLike | None) -> Config:
    from llamune_eval.config import load

    return load(Path(config) if config is not None else None)


@contextmanager
def _opened(store: PathLike | None, config: PathLike | None, cfg: Config | None = None) -> Iterator[Store]:
    """The store read-only, at `store` or else where the config says; closed when the frame is made."""
    from llamune_eval.store.frames import ReadOnlyStore

    path = Path(store) if store is not None else (cfg or _config(config)).paths.store
    opened = ReadOnlyStore(path)
    try:
        yield opened
    finally:
        opened.close()


def samples(
    store: PathLike | None = None,
    *,
    quarter: str | None = None,
    suite: str | None = None,
    model: str | None = None,
    current: bool = False,
    config: PathLike | None = None,
) -> pd.DataFrame:
    """One row per stored sample: every column of the `samples` table, texts whole, `prompt` and `output` as lists
    of turns, and the run's `quarter`. `quarter` keeps the runs made for it; with `current`, only the quarter's
    evidence (newest suite version, model digest and parameters: what the leaderboard reads)."""
    from llamune_eval.store import frames as tables

    with _opened(store, config) as st:
        return tables.samples(st, quarter=quarter, suite=suite, model=model, current=current)


def scores(
    store: PathLike | None = None,
    *,
    quarter: str | None = None,
    suite: str | None = None,
    model: str | None = None,
    current: bool = False,
    config: PathLike | None = None,
) -> pd.DataFrame:
    """Per-sample score values in long form: `key`, `quarter`, `suite`, `model`, `preset`, `item_id`, `repeat`,
    `status`, `metric`, `value` (filters as `samples`)."""
    from llamune_eval.store import frames as tables

    with _opened(store, config) as st:
        return tables.scores(st, quarter=quarter, suite=suite, model=model, current=current)


def judgements(
    store: PathLike | None = None,
    *,
    quarter: str | None = None,
    suite: str | None = None,
    model: str | None = None,
    config: PathLike | None = None,
) -> pd.DataFrame:
    """Every judge verdict: the `judgements` table's columns and the judged sample's run `quarter`; `model`
    matches either side of a pairwise verdict."""
    from llamune_eval.store import frames as tables

    with _opened(store, config) as st:
        return tables.judgements(st, quarter=quarter, suite=suite, model=model)


def usage_events(
    store: PathLike | None = None,
    *,
    quarter: str | None = None,
    model: str | None = None,
    config: PathLike | None = None,
) -> pd.DataFrame:
    """The chat runtime's ingested usage events: the `usage_events` table's columns and the `quarter` of each
    event's `created_at` (what `llamune-eval usage --quarter` counts)."""
    from llamune_eval.store import frames as tables

    with _opened(store, config) as st:
        return tables.usage_events(st, quarter=quarter, model=model)


def leaderboard(
    store: PathLike | None = None,
    *,
    quarter: str | None = None,
    suite: str | None = None,
    model: str | None = None,
    preset: str | None = None,
    config: PathLike | None = None,
) -> pd.DataFrame:
    """The leaderboard `llamune-eval results` prints, one row per suite x model x preset: the fields of
    `analysis.LeaderboardRow` (`value` strict, `lenient`, `ci_low`, `ci_high`, `n`, ...) and `gap`. Read from the
    evidence with the config's presets and seed, as the decision and the report read it."""
    import pandas as pd

    from llamune_eval.analysis import Evidence, LeaderboardRow
    from llamune_eval.analysis import leaderboard as board

    cfg = _config(config)
    with _opened(store, config, cfg) as st:
        ev = Evidence.for_quarter(st, cfg, quarter)
    rows = board(ev, suites=_one(suite), models=_one(model), presets=_one(preset))
    columns = [f.name for f in fields(LeaderboardRow)] + ["gap"]
    return pd.DataFrame([asdict(r) | {"gap": r.gap} for r in rows], columns=columns)


def _one(name: str | None) -> tuple[str, ...]:
    return () if name is None else (name,)
