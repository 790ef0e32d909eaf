"""`llamune-eval rate`: people rate stored answers of the judged suites, blind, so the judge can be checked."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import TYPE_CHECKING

from llamune_eval.cli._common import fail, load_config, run_async
from llamune_eval.ui import console

if TYPE_CHECKING:
    from llamune_eval.config import Config
    from llamune_eval.store.results import Store


def rate(
    config: Path | None,
    suites: list[str],
    n: int,
    rater: str | None,
    overlap: float,
    quarter: str | None,
    store: Path | None,
    import_file: Path | None,
    export_file: Path | None,
) -> None:
    cfg = load_config(config)
    path = Path(store or cfg.paths.store)
    if not path.exists():
        fail(f"{path}: no results store yet (run `llamune-eval run` first)")
    from llamune_eval.store.results import Store

    with Store(path) as st:
        if import_file is not None:
            _import(st, import_file)
        elif export_file is not None:
            _export(st, export_file)
        else:
            _rate(st, cfg, suites, n, rater or getpass.getuser(), overlap, quarter)


def _import(st: Store, file: Path) -> None:
    from llamune_eval.rating import transfer
    from llamune_eval.store import ratings

    got = transfer.read(file, st)
    saved = ratings.save(st, got.ratings)
    skipped = f"; {got.unknown} about answers this store does not hold were skipped" if got.unknown else ""
    console.print(f"{saved} ratings imported from {file}{skipped}", markup=False, highlight=False)


def _export(st: Store, file: Path) -> None:
    from llamune_eval.rating import transfer
    from llamune_eval.store import ratings

    if file.exists():
        fail(f"{file}: already exists (export never overwrites a file)")
    rows = ratings.ratings(st)
    transfer.export(rows, file)
    console.print(f"{len(rows)} ratings by {len({r.rater for r in rows})} raters → {file}", markup=False)


def _rate(st: Store, cfg: Config, suites: list[str], n: int, rater: str, overlap: float, quarter: str | None) -> None:
    from llamune_eval.lines import reader
    from llamune_eval.quarters import resolve_quarter
    from llamune_eval.rating.queue import plan
    from llamune_eval.rating.terminal import session
    from llamune_eval.records import HumanRating
    from llamune_eval.scoring.judge_prompts import judge_scale
    from llamune_eval.store import ratings
    from llamune_eval.store.selection import current_samples, judge_verdicts

    q = resolve_quarter(quarter, cfg.run.quarter)
    judged = [r for r in current_samples(st, q) if r.ok and r.pending_judge]
    names = sorted({r.suite for r in judged})
    if not judged:
        fail(f"{st.path}: no answers of a judged suite to rate for {q} (a suite scored by the judge, README: Judging)")
    unknown = sorted(set(suites) - set(names))
    if unknown:
        fail(f"no judged answers of suite {', '.join(unknown)} (judged suites: {', '.join(names)})")
    rows = [r for r in judged if not suites or r.suite in suites]
    scales = {v.sample_key: v.scale for v in judge_verdicts(st)}
    scales = {r.key: scales.get(r.key) or judge_scale(cfg.judge.scale, r.eval_aspect) for r in rows}
    mine = {r.sample_key for r in ratings.ratings(st, rater)}
    others = ratings.rated_by_others(st, rater)
    queue = plan(rows, scales, rater=rater, n=n, overlap=overlap, seed=cfg.run.seed, mine=mine, others=others)
    shared = sum(1 for p in queue if p.shared)
    done = sum(1 for p in queue if p.row.key in mine)
    print(f"評価者 {rater}: {len(queue)} 件（全員共通 {shared} 件）、評価済み {done} 件。"
          "モデル名・プリセット・ジャッジの点数は表示しません。", flush=True)  # fmt: skip
    texts = ratings.texts(st, [p.row.key for p in queue if p.row.key not in mine])
    lines = reader()

    def say(text: str) -> None:
        print(text, flush=True)

    def save(rating: HumanRating) -> None:
        ratings.save(st, [rating])

    run_async(lambda: session(queue, mine, texts, rater, lambda p: lines.read(p, keep=False), say, save))
