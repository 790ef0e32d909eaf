"""The decision rule for one hardware tier (README: "The decision rule").

Candidates are the configurations that fit the tier's memory and have a value on every counted suite. Each gets
a score in points of benchmark quality (0..1): its quality, plus each usage signal's distance from neutral (user
rating, success rate on the organisation's task mix, /retry preference; 0.5 is neutral) times its weight, plus the
share of the tier's memory it leaves free times `memory_weight`, less `latency_per_doubling` for each doubling of
its model's median latency over the tier's fastest candidate's. (The model's, not the configuration's: presets of
one model answer benchmark requests at one speed, and per configuration the medians differ mostly by the order they
ran in, the engine's prompt cache serving the later presets.)

The incumbent (last quarter's main configuration for the tier) stays unless the challenger (the best-scoring
other configuration on the quality/latency Pareto front) scores higher AND its advantage is evidenced: a test in
the family (each counted suite's paired test and the usage tests, two-sided, Holm-corrected at `alpha`) favours
it, or its quality lead is at least `margin` with every counted suite holding the items that a `margin`-sized
difference needs (the power figure). Without an incumbent the best score leads.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from llamune_eval.analysis import ConfigStat, Evidence, compare_configs, latency_test, quality_difference
from llamune_eval.analysis.memory import GIB, fits, tier_budget
from llamune_eval.analysis.pairs import apply_holm
from llamune_eval.analysis.pareto import front
from llamune_eval.analysis.power import DELTA, difference_sd, independent_sd, items_needed
from llamune_eval.benchmarks import PairedTest
from llamune_eval.config import RecommendConfig
from llamune_eval.types import InputError
from llamune_eval.usage.signals import NEUTRAL, UsageSignals


@dataclass
class Candidate:
    config: ConfigStat
    quality: float
    memory: int
    components: dict[str, float]
    merit: float
    latency_penalty: float
    score: float
    contributions: dict[str, float] = field(default_factory=dict)  # points each part adds to the score

    @property
    def label(self) -> str:
        return self.config.label


@dataclass(kw_only=True)
class Hypothesis(PairedTest):
    """One hypothesis of the family; `favours` names the configuration it significantly favours, if any;
    `in_family` False: reported beside the family, not evidence for a change."""

    name: str
    favours: str | None = None
    in_family: bool = True


@dataclass
class Margin:
    quality_diff: float | None
    low: float | None
    high: float | None
    threshold: float
    items_needed: dict[str, int]
    enough: bool
    met: bool


@dataclass
class Decision:
    tier_gb: int
    budget: int
    main: Candidate
    incumbent: Candidate | None
    incumbent_source: str
    challenger: Candidate | None
    outcome: str  # kept | replaced | first | unchallenged
    reason: str
    tests: list[Hypothesis] = field(default_factory=list)
    margin: Margin | None = None
    candidates: list[Candidate] = field(default_factory=list)
    excluded: list[tuple[str, str]] = field(default_factory=list)
    front: list[str] = field(default_factory=list)
    power: dict[str, int] = field(default_factory=dict)


def candidates(
    ev: Evidence, memory: dict[str, int], tier_gb: int, rule: RecommendConfig, usage: UsageSignals
) -> tuple[list[Candidate], list[tuple[str, str]]]:
    """The configurations that may run on the tier (`analysis.memory.fits`), scored; and the others with the
    reason."""
    budget = tier_budget(tier_gb, rule.headroom)
    fit: list[tuple[ConfigStat, float, int]] = []
    excluded: list[tuple[str, str]] = []
    for c in ev.configs.values():
        need = memory.get(c.label)
        quality = ev.quality(c)
        if c.params is None:
            excluded.append((c.label, c.params_note or "parameters unknown"))
        elif need is None or not fits(need, tier_gb, rule.headroom):
            excluded.append((c.label, f"needs {(need or 0) / GIB:.1f} GB, over {budget / GIB:.1f} GB"))
        elif quality is None:
            excluded.append((c.label, f"no value on {', '.join(ev.missing(c))}"))
        elif not ev.model_latency.get(c.model):
            excluded.append((c.label, "no answer was measured"))
        else:
            fit.append((c, quality, need))
    if not fit:
        return [], excluded
    fastest = min(ev.model_latency.get(c.model) or 0.0 for c, _, _ in fit)
    out = []
    for c, quality, need in fit:
        used = usage.of(c.model)
        parts = {
            "quality": quality,
            "rating": used.rating,
            "success": used.success,
            "retry": used.retry,
            "memory": max(0.0, 1 - need / budget),
        }
        points = {
            "quality": quality,
            "rating": rule.rating_weight * (used.rating - NEUTRAL),
            "success": rule.success_weight * (used.success - NEUTRAL),
            "retry": rule.retry_weight * (used.retry - NEUTRAL),
            "memory": rule.memory_weight * parts["memory"],
        }
        merit = sum(points.values())
        penalty = rule.latency_per_doubling * math.log2((ev.model_latency.get(c.model) or fastest) / fastest)
        points["latency"] = -penalty
        out.append(Candidate(c, quality, need, parts, merit, penalty, merit - penalty, points))
    return sorted(out, key=lambda x: (-x.score, x.label)), excluded


def _family(
    ev: Evidence, a: Candidate, b: Candidate, suites: list[str], usage: UsageSignals, alpha: float
) -> list[Hypothesis]:
    key = ("family", a.label, b.label, alpha)
    if key not in ev.memo:
        ev.memo[key] = _tests(ev, a, b, suites, usage, alpha)
    return list(ev.memo[key])


def _tests(
    ev: Evidence, a: Candidate, b: Candidate, suites: list[str], usage: UsageSignals, alpha: float
) -> list[Hypothesis]:
    """Is `a` better than `b`? Every counted suite's paired test and the usage tests form one family, two-sided
    and Holm-corrected; `favours` names the configuration a significant difference favours. The paired latency
    test is reported beside them but is not evidence for a change: benchmark latencies move with the machine's
    load and the run's order, so speed enters the decision through the score alone."""
    rows: list[Hypothesis] = [
        Hypothesis(name=c.suite, test=c.test, n=c.n, diff=c.diff, low=c.low, high=c.high, p=c.p, note=c.note)
        for c in compare_configs(ev, a.config, b.config, suites, correct=False)
    ]
    for t in usage.tests(a.config.model, b.config.model):
        rows.append(Hypothesis(name=t.name, test=t.test, n=t.n, diff=t.diff, low=None, high=None, p=t.p))
    apply_holm(rows)
    for r in rows:
        if r.p_holm is not None and r.p_holm < alpha and r.diff:
            r.favours = a.label if r.diff > 0 else b.label
    lat = latency_test(ev, a.config, b.config, suites)
    note = None
    if lat.diff is not None:
        note = f"{a.label} の応答時間は {b.label} の {math.exp(-lat.diff):.2f} 倍（設問ごとの比の幾何平均）"
    rows.append(
        Hypothesis(
            name="latency",
            test=lat.test,
            n=lat.n,
            diff=lat.diff,
            low=lat.low,
            high=lat.high,
            p=lat.p,
            note=note,
            in_family=False,
        )
    )
    return rows


def _margin(ev: Evidence, a: Candidate, b: Candidate, suites: list[str], threshold: float) -> Margin:
    key = ("quality", a.label, b.label)
    if key not in ev.memo:
        ev.memo[key] = quality_difference(ev, a.config, b.config, suites)
    q = ev.memo[key]
    diff, low, high = q.diff, q.low, q.high
    needed = power(ev, a.config, b.config, suites, threshold)
    enough = all(min(a.config.suites[s].n, b.config.suites[s].n) >= needed[s] for s in suites)
    return Margin(diff, low, high, threshold, needed, enough, enough and diff is not None and diff >= threshold)


def power(ev: Evidence, a: ConfigStat, b: ConfigStat | None, suites: list[str], delta: float = DELTA) -> dict[str, int]:
    """Per suite, the paired items needed to detect `delta` on the 0-1 scale (80% power at the evidence's alpha):
    from the paired differences of `a` and `b`, or from `a` alone as if against an independent equal
    configuration."""
    out = {}
    for s in suites:
        task, sa = ev.task(s), a.suites[s]
        sb = b.suites.get(s) if b is not None else None
        keys = sorted(set(sa.values) & set(sb.values)) if sb is not None else []
        if sb is not None and keys:
            sd = difference_sd(
                [task.unit_value(sa.values[k]) for k in keys], [task.unit_value(sb.values[k]) for k in keys]
            )
        else:
            sd = independent_sd([task.unit_value(v) for v in sa.values.values()])
        out[s] = items_needed(sd, delta, alpha=ev.alpha)
    return out


def decide(
    ev: Evidence,
    tier_gb: int,
    memory: dict[str, int],
    rule: RecommendConfig,
    usage: UsageSignals,
    previous: tuple[str, str] | None = None,
    previous_version: str | None = None,
) -> Decision:
    """The tier's main configuration by the rule above, with everything that decided it."""
    if ev.alpha != rule.alpha:  # one level for the family, the intervals and the power figure
        raise ValueError(f"the evidence was read at alpha {ev.alpha}, the rule's is {rule.alpha}")
    budget = tier_budget(tier_gb, rule.headroom)
    pool, excluded = candidates(ev, memory, tier_gb, rule, usage)
    if not pool:
        over = (
            c for c in ev.configs.values() if c.params is not None
        )  # the memory reason, as `candidates` orders them
        if any(not fits(memory.get(c.label), tier_gb, rule.headroom) for c in over):
            raise InputError(f"tier {tier_gb} GB: no evaluated model fits in {rule.headroom:.0%} of its memory")
        raise InputError(
            f"tier {tier_gb} GB: no configuration has a value on every counted suite "
            f"({'; '.join(f'{c}: {why}' for c, why in excluded[:3])})"
        )
    suites = ev.counted_suites()
    on_front = front(pool, lambda c: (c.merit, -(ev.model_latency.get(c.config.model) or 0.0)))
    incumbent, source = _incumbent(pool, previous, previous_version)
    rivals = [c for c in on_front if c is not incumbent]
    challenger = rivals[0] if rivals else None  # the front keeps the pool's order: best score first
    decision = Decision(
        tier_gb,
        budget,
        pool[0],
        incumbent,
        source,
        challenger,
        "first",
        "",
        candidates=pool,
        excluded=excluded,
        front=[c.label for c in on_front],
    )
    if incumbent is None:
        main = challenger or pool[0]
        other = next((c for c in pool if c is not main), None)
        decision.main, decision.challenger = main, None
        decision.reason = f"前四半期の選択がないため、総合点が最も高い {main.label} を選択（総合点 {main.score:.3f}" + (
            f"、次点 {other.label} {other.score:.3f}）" if other else "）"
        )
        if other is not None:
            decision.tests = _family(ev, main, other, suites, usage, rule.alpha)
        decision.power = power(ev, main.config, other.config if other else None, suites)
        return decision
    if challenger is None:
        decision.main, decision.outcome = incumbent, "unchallenged"
        decision.reason = f"{incumbent.label} を維持：ほかの候補はどれも品質と速度の両方で現行に及ばない"
        decision.power = power(ev, incumbent.config, None, suites)
        return decision
    tests = _family(ev, challenger, incumbent, suites, usage, rule.alpha) + _raced(challenger, incumbent)
    margin = _margin(ev, challenger, incumbent, suites, rule.margin)
    evidenced = [t for t in tests if t.favours == challenger.label]
    better = challenger.score > incumbent.score
    replace = better and (bool(evidenced) or margin.met)
    decision.main = challenger if replace else incumbent
    decision.outcome = "replaced" if replace else "kept"
    decision.tests, decision.margin = tests, margin
    decision.power = power(ev, challenger.config, incumbent.config, suites)
    decision.reason = _reason(challenger, incumbent, tests, margin, better, replace)
    return decision


def _raced(challenger: Candidate, incumbent: Candidate) -> list[Hypothesis]:
    """A raced quarter's own evidence: the race settled the incumbent worse by its anytime-valid test (each
    comparison at alpha / (K - 1): design/racing.md), after which the incumbent answered nothing more, so the
    fixed-sample tests on the items it shares with the challenger cannot be read as if no one had looked."""
    race = incumbent.config.race
    if race is None or race.reason != "settled-worse":
        return []
    return [
        Hypothesis(
            name="race",
            test="anytime-valid confidence sequence",
            n=race.items,
            diff=None,
            low=None,
            high=None,
            p=None,
            note=f"{incumbent.label} は {race.items} 問の時点で {race.by} に劣ると確定（レース）",
            favours=challenger.label,
        )
    ]


def _incumbent(
    pool: list[Candidate], previous: tuple[str, str] | None, version: str | None
) -> tuple[Candidate | None, str]:
    if previous is None:
        return None, "前四半期の推奨設定なし"
    model, preset = previous
    exact = next((c for c in pool if (c.config.model, c.config.preset) == previous), None)
    if exact is not None:
        return exact, f"{version} の選択"
    same_model = next((c for c in pool if c.config.model == model), None)  # the pool is sorted by score
    if same_model is not None:
        return same_model, f"{version} の選択 {model}:{preset}（このプリセットは今期の候補にないため最良のプリセット）"
    return None, f"{version} の選択 {model}:{preset} は今期の候補にない"


def _reason(c: Candidate, i: Candidate, tests: list[Hypothesis], margin: Margin, better: bool, replace: bool) -> str:
    if not better:
        return f"{i.label} を維持：総合点で挑戦者 {c.label} を下回らない（{i.score:.3f} ≥ {c.score:.3f}）"
    why = [f"{t.name}（補正後 p={t.p_holm:.3g}）" for t in tests if t.favours == c.label and t.p_holm is not None]
    why += [t.note or t.name for t in tests if t.favours == c.label and t.p_holm is None]
    if margin.met and margin.quality_diff is not None:
        why.append(f"品質の差 {margin.quality_diff:+.3f} が基準 {margin.threshold:.2f} 以上（設問数は十分）")
    if replace:
        return f"{c.label} に交代：総合点 {c.score:.3f} > {i.score:.3f}、根拠 " + "、".join(why)
    tested = [t.p_holm for t in tests if t.p_holm is not None]
    smallest = f"{min(tested):.3g}" if tested else "-"
    gap = (
        ""
        if margin.quality_diff is None
        else f"品質の差 {margin.quality_diff:+.3f}（基準 {margin.threshold:.2f}、"
        f"設問数{'は十分' if margin.enough else 'が不足'}）"
    )
    return (
        f"{i.label} を維持：挑戦者 {c.label} の総合点は高い（{c.score:.3f} > {i.score:.3f}）が、優位が有意でない"
        f"（補正後 p の最小 {smallest}）。{gap}"
    )
