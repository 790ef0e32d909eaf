"""How far the judge can be trusted by its own verdicts: position flips, length bias, self-preference and repeat
variance. Functions over the stored judgements (`records.Judgement`), so the judge stage and the report compute
the same figures from the same rows. Its agreement with people is `scoring.agreement`."""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from llamune_eval.records import Judgement
from llamune_eval.scoring.metrics import spearman
from llamune_eval.scoring.stats import bradley_terry_ci

if TYPE_CHECKING:
    from llamune_eval.config import Config


def share(overall: float, scale: int) -> float:
    """A judge's overall score as a share of its scale, so verdicts on 1-5 and 1-10 average together. The evidence
    reads the same rule in SQL (`store.selection.judge_shares`), where the store cannot call Python."""
    return overall / scale


def _pairwise(rows: Iterable[Judgement]) -> Iterator[tuple[Judgement, str | None, str]]:
    """The parsed pairwise verdicts with their order and winner (set on every parsed one)."""
    for r in rows:
        if r.mode == "pairwise" and r.ok and r.winner is not None:
            yield r, r.position, r.winner


def _graded(rows: Iterable[Judgement]) -> Iterator[tuple[Judgement, float, int]]:
    """The parsed single and reference verdicts with their overall score and scale (both set on every one)."""
    for r in rows:
        if r.mode != "pairwise" and r.ok and r.overall is not None and r.scale is not None:
            yield r, r.overall, r.scale


def flip_rate(rows: Iterable[Judgement]) -> tuple[float, int]:
    """Share of pairwise comparisons whose two orders disagree (both parsed); and how many pairs were seen."""
    orders: dict[tuple[Any, ...], dict[str | None, str]] = {}
    for r, position, winner in _pairwise(rows):
        orders.setdefault((r.sample_key, r.sample_key_b, r.judge_model, r.trial), {})[position] = winner
    both = [v for v in orders.values() if {"ab", "ba"} <= set(v)]
    if not both:
        return math.nan, 0
    return sum(v["ab"] != v["ba"] for v in both) / len(both), len(both)


def pairwise_outcomes(rows: Iterable[Judgement]) -> list[tuple[str, str, float]]:
    """One outcome per compared pair and judge: a win only when both orders agree; otherwise a tie."""
    orders: dict[tuple[Any, ...], dict[str | None, str]] = {}
    names: dict[tuple[Any, ...], tuple[str, str]] = {}
    for r, position, winner in _pairwise(rows):
        key = (r.sample_key, r.sample_key_b, r.judge_model, r.trial)
        orders.setdefault(key, {})[position] = winner
        names[key] = (f"{r.model}:{r.preset}", f"{r.model_b}:{r.preset_b}")
    out = []
    for key, verdicts in orders.items():
        if {"ab", "ba"} <= set(verdicts):
            first, second = names[key]
            agreed = verdicts["ab"] if verdicts["ab"] == verdicts["ba"] else "tie"
            out.append((first, second, {"first": 1.0, "second": 0.0}.get(agreed, 0.5)))
    return out


def panel_majority(rows: Iterable[Judgement]) -> list[dict[str, Any]]:
    """Pairwise results by panel majority: per pair of configurations, the items each won and the ties.

    Each judge's outcome on an item is its verdict when both orders agree, else a tie; the panel's outcome is the
    outcome most judges reached (a tie when no outcome has a strict majority).
    """
    per_item: dict[tuple[Any, ...], dict[str, list[str]]] = {}
    names: dict[tuple[Any, ...], tuple[str, str]] = {}
    for r, _, winner in _pairwise(rows):
        item = (r.sample_key, r.sample_key_b)
        per_item.setdefault(item, {}).setdefault(r.judge_model, []).append(winner)
        names[item] = (f"{r.model}:{r.preset}", f"{r.model_b}:{r.preset_b}")
    table: dict[tuple[str, str], dict[str, int]] = {}
    for item, judges in per_item.items():
        outcomes = [v[0] if len(v) == 2 and v[0] == v[1] else "tie" for v in judges.values() if len(v) == 2]
        if not outcomes:
            continue
        top = max(set(outcomes), key=outcomes.count)
        result = top if outcomes.count(top) * 2 > len(outcomes) else "tie"
        counts = table.setdefault(names[item], {"first": 0, "second": 0, "tie": 0})
        counts[result] += 1
    return [
        {"a": a, "b": b, "a_wins": c["first"], "b_wins": c["second"], "ties": c["tie"]}
        for (a, b), c in sorted(table.items())
    ]


def panel_disagreement(rows: Iterable[Judgement]) -> float:
    """Pairwise: the share of compared pairs on which a panel's judges did not all reach the same outcome."""
    by_pair: dict[tuple[Any, ...], dict[str, set[str]]] = {}
    for r, _, winner in _pairwise(rows):
        by_pair.setdefault((r.sample_key, r.sample_key_b), {}).setdefault(r.judge_model, set()).add(winner)
    outcomes = []
    for judges in by_pair.values():
        if len(judges) > 1:  # one outcome per judge: its verdict when both orders agree, else a tie
            outcomes.append(len({next(iter(v)) if len(v) == 1 else "tie" for v in judges.values()}) > 1)
    return sum(outcomes) / len(outcomes) if outcomes else math.nan


def length_bias(rows: Iterable[Judgement]) -> float:
    """Spearman correlation of the overall score with the answer's length (single and reference modes)."""
    pairs = [
        (overall, r.answer_chars) for r, overall, _ in _graded(rows) if r.trial == 0 and r.answer_chars is not None
    ]
    if len(pairs) < 3:
        return math.nan
    scores, lengths = zip(*pairs, strict=True)
    return spearman(scores, lengths)


def self_preference(rows: Iterable[Judgement]) -> float:
    """Mean share of the scale (`share`) given to the judge's own family minus that given to others."""
    own: list[float] = []
    other: list[float] = []
    for r, overall, scale in _graded(rows):
        if r.judge_family and r.model_family:
            (own if r.judge_family == r.model_family else other).append(share(overall, scale))
    if not own or not other:
        return math.nan
    return statistics.fmean(own) - statistics.fmean(other)


def repeat_variance(rows: Iterable[Judgement]) -> tuple[float, int]:
    """Mean absolute difference of the overall score between a judgement and its independent re-judgement (another
    seed at the judge's sampling temperature), and how many pairs it rests on."""
    trials: dict[tuple[Any, ...], dict[int, float]] = {}
    for r, overall, _ in _graded(rows):
        where = (r.sample_key, r.judge_model, r.mode, r.turn, r.template_version)
        trials.setdefault(where, {})[r.trial] = overall
    diffs = [abs(t[0] - t[1]) for t in trials.values() if 0 in t and 1 in t]
    return (statistics.fmean(diffs) if diffs else math.nan), len(diffs)


def score_summary(rows: list[Judgement]) -> list[dict[str, Any]]:
    """Mean score per suite x model x preset x judge (single and reference modes), with panel disagreement."""
    groups: dict[tuple[str, str, str, str, int], list[float]] = {}
    per_sample: dict[str, list[float]] = {}
    for r, overall, scale in _graded(rows):
        if r.trial:
            continue
        groups.setdefault((r.suite, r.model, r.preset, r.judge_model, scale), []).append(overall)
        per_sample.setdefault(r.sample_key, []).append(share(overall, scale))
    spread = [statistics.pstdev(v) for v in per_sample.values() if len(v) > 1]
    out = [
        {
            "suite": k[0],
            "model": k[1],
            "preset": k[2],
            "judge": k[3],
            "scale": k[4],
            "n": len(v),
            "mean": statistics.fmean(v),
        }
        for k, v in sorted(groups.items())
    ]
    judges = {k[3] for k in groups}
    if len(judges) > 1:  # the panel: the mean over judges of each configuration's mean score
        panel: dict[tuple[str, str, str, int], list[float]] = {}
        for k, v in groups.items():
            panel.setdefault((k[0], k[1], k[2], k[4]), []).append(statistics.fmean(v))
        name = f"panel of {len(judges)} (mean)"
        for (suite, model, preset, scale), means in sorted(panel.items()):
            out.append(
                {
                    "suite": suite,
                    "model": model,
                    "preset": preset,
                    "judge": name,
                    "scale": scale,
                    "n": len(means),
                    "mean": statistics.fmean(means),
                }
            )
    if spread:
        out.append({"panel_disagreement": statistics.fmean(spread)})
    return out


def judge_figures(rows: list[Judgement], cfg: Config) -> dict[str, Any]:
    """Reliability figures over the stored judgements whose request did not fail (`Store.valid_judgements`)."""
    flips, pairs = flip_rate(rows)
    variance, rejudged = repeat_variance(rows)
    figures: dict[str, Any] = {
        "judgements": len(rows),
        "parse_failures": sum(not r.ok for r in rows),
        "position_flip_rate": flips,
        "pairs_in_both_orders": pairs,
        "length_correlation": length_bias(rows),
        "self_preference": self_preference(rows),
        "repeat_mean_abs_diff": variance,
        "rejudged": rejudged,
        "judge_temperature": cfg.judge.temperature,
        "panel_pairwise_disagreement": panel_disagreement(rows),
        "pairwise_majority": panel_majority(rows),
    }
    outcomes = pairwise_outcomes(rows)
    if outcomes:
        figures["bradley_terry"] = {k: list(v) for k, v in bradley_terry_ci(outcomes, seed=cfg.run.seed).items()}
    return figures
