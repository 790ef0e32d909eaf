"""`llamune-eval judge`: run the judge stage and print scores per configuration and the judge's reliability."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rich.table import Table

from llamune_eval.cli._common import cell, fail, load_config, run_async
from llamune_eval.ui import RichWatcher, console, err_console, print_json

if TYPE_CHECKING:
    from llamune_eval.config import Config
    from llamune_eval.settings_evidence import JudgeEvidence
    from llamune_eval.store.results import Store

MODES = ("", "auto", "single", "reference", "pairwise")


def judge(
    config: Path | None,
    judges: list[str],
    mode: str,
    all_samples: bool,
    store: Path | None,
    progress: bool,
    as_json: bool,
) -> None:
    from llamune_eval.runner.judging import JudgeSpec
    from llamune_eval.runner.judging import judge as run_judge
    from llamune_eval.scoring.reliability import score_summary
    from llamune_eval.store.results import Store

    if mode not in MODES:
        fail(f"unknown mode {mode!r} (auto, single, reference or pairwise)")
    cfg = load_config(config)
    path = Path(store or cfg.paths.store)
    if not path.exists():
        fail(f"{path}: no results store yet (run `llamune-eval run` first)")
    spec = JudgeSpec(judges=judges, mode=mode, all_samples=all_samples, store=path, display=RichWatcher(progress))
    outcome = run_async(lambda: run_judge(cfg, spec))
    with Store(path) as st:
        rows = score_summary(st.valid_judgements())
        check = _check(st, cfg)
    if as_json:
        print_json(
            {
                "run_id": outcome.run_id,
                "judged": outcome.done,
                "skipped": outcome.skipped,
                "parse_failures": outcome.parse_failures,
                "errors": outcome.errors,
                "scores": rows,
                "reliability": outcome.figures,
                "check": check.model_dump(mode="json", by_alias=True) if check else None,
            }
        )
        return
    err_console.print(
        f"judge run {outcome.run_id}: {outcome.done} judged, {outcome.skipped} already stored, "
        f"{outcome.parse_failures} unparsable (kept raw), {outcome.errors} failed"
    )
    table = Table(title="Judge scores", title_justify="left")
    for col in ("suite", "model", "preset", "judge", "scale", "n", "mean"):
        table.add_column(col, justify="right" if col in ("scale", "n", "mean") else "left")
    for r in rows:
        if "suite" in r:
            table.add_row(
                r["suite"], r["model"], r["preset"], r["judge"], str(r["scale"]), str(r["n"]), cell(r["mean"])
            )
    console.print(table)
    figures = outcome.figures
    rel = Table(title="Judge reliability", title_justify="left")
    rel.add_column("figure")
    rel.add_column("value", justify="right")
    for name in (
        "judgements",
        "parse_failures",
        "position_flip_rate",
        "pairs_in_both_orders",
        "length_correlation",
        "self_preference",
        "repeat_mean_abs_diff",
        "rejudged",
    ):
        rel.add_row(name, cell(figures.get(name)))
    for r in rows:
        if "panel_disagreement" in r:
            rel.add_row("panel disagreement (sd of score / scale)", cell(r["panel_disagreement"]))
    console.print(rel)
    for m in figures.get("pairwise_majority") or []:
        console.print(
            f"pairwise (panel majority) {m['a']} vs {m['b']}: {m['a_wins']} – {m['b_wins']}, {m['ties']} tie(s)"
        )
    for name, (point, low, high) in sorted((figures.get("bradley_terry") or {}).items(), key=lambda kv: -kv[1][0]):
        console.print(f"Bradley–Terry {name}: {point:+.2f} [{low:+.2f}, {high:+.2f}]")
    if check is not None:
        console.print(check_table(check))


def _check(st: Store, cfg: Config) -> JudgeEvidence | None:
    """The judge checked against people for the quarter being decided (`analysis.judge_check`)."""
    from llamune_eval.analysis import Evidence
    from llamune_eval.quarters import resolve_quarter

    ev = Evidence.for_quarter(st, cfg, resolve_quarter(None, cfg.run.quarter))
    return ev.judge.evidence if ev.judge is not None else None


def check_table(check: JudgeEvidence) -> Table:
    """Each judged suite: whether its scores count, and the Kendall tau-b with people the rule read."""
    table = Table(title=f"Judge checked against people (tau-b lower bound > {check.min_agreement} on >= "
                  f"{check.min_rated} answers; {check.rated_answers} rated)", title_justify="left")  # fmt: skip
    for col in ("suite", "status", "scope", "tau-b", "low", "high", "n", "counted"):
        table.add_column(col, justify="right" if col in ("tau-b", "low", "high", "n") else "left")
    for c in check.suites:
        k = c.kendall
        table.add_row(c.suite, c.status, c.scope or "-", cell(k.value), cell(k.low), cell(k.high), str(k.n),
                      "yes" if c.counted else "no")  # fmt: skip
    return table
