"""From a tier's decision to the file: the cross-check models that catch the main one's mistakes, how many may run
at once, the ModelConfig entries (the preset's own parameters, never a suite's answer cap) and the evidence."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from llamune_eval.analysis import ConfigStat, Evidence, SuiteStat
from llamune_eval.analysis.contention import Contention, contention
from llamune_eval.recommend.decide import Candidate, Decision
from llamune_eval.settings import LLMParameters
from llamune_eval.types import Footprint, Timing

PURPOSES = ("メイン推論", "クロスチェック")


@dataclass
class TierChoice:
    """What was chosen for one memory tier, before it is written (the file's shape is `settings.Tier`)."""

    decision: Decision
    cross_checks: list[tuple[Candidate, float, int]]  # candidate, share of the main's mistakes it gets right, shared
    concurrent_limit: int
    memory: dict[str, int]
    contention: Contention | None = None  # the check's figures (None: not measured, or nothing to run beside)

    def limited(self, rows: list[Timing], max_slowdown: float) -> TierChoice:
        """`concurrentLimit` from the contention check: 1 + the cross-checks that may run beside the main model
        without slowing it past `max_slowdown`; 1 when the check has not run (or there is none to run)."""
        if not self.cross_checks:
            return self
        found = contention(self.decision.main.label, [c.label for c, _, _ in self.cross_checks], rows, max_slowdown)
        self.contention, self.concurrent_limit = found, found.limit if found else 1
        return self


def catches(ev: Evidence, main: ConfigStat, other: ConfigStat, suites: list[str]) -> tuple[float, int]:
    """Share of the items the main configuration gets wrong that `other` gets right, and how many were shared."""
    mine, theirs = ev.right(main, suites), ev.right(other, suites)
    wrong = [k for k, ok in mine.items() if not ok and k in theirs]
    if not wrong:
        return 0.0, 0
    return sum(theirs[k] for k in wrong) / len(wrong), len(wrong)


def cross_checks(ev: Evidence, decision: Decision, max_models: int) -> TierChoice:
    """The other models (each at its best-scoring preset) ordered by how often they are right where the main
    configuration is wrong; a model that errs wherever the main one errs catches nothing and is never chosen.
    All chosen models must fit in the tier together."""
    main = decision.main
    suites = ev.counted_suites()
    best: dict[str, Candidate] = {}
    for c in decision.candidates:  # sorted by score
        if c.config.model != main.config.model and c.config.model not in best:
            best[c.config.model] = c
    ranked = sorted(
        ((c, *catches(ev, main.config, c.config, suites)) for c in best.values()), key=lambda t: (-t[1], -t[0].score)
    )
    chosen: list[tuple[Candidate, float, int]] = []
    used = main.memory
    for c, share, shared in ranked:
        if len(chosen) + 1 >= max_models:
            break
        if shared and share and used + c.memory <= decision.budget:
            chosen.append((c, share, shared))
            used += c.memory
    memory = {c.config.model: c.memory for c in [main, *(x for x, _, _ in chosen)]}
    return TierChoice(decision, chosen, 1, memory)


def model_config(c: Candidate, priority: int, purpose: str) -> dict[str, Any]:
    assert c.config.params is not None  # candidates always have their parameters
    return {
        "name": c.config.model,
        "priority": priority,
        "purpose": purpose,
        "parameters": LLMParameters.of(c.config.params).view(),
        "preset": c.config.preset,
    }


def tier_entry(t: TierChoice) -> dict[str, Any]:
    models = [model_config(t.decision.main, 1, PURPOSES[0])]
    models += [model_config(c, i, PURPOSES[1]) for i, (c, _, _) in enumerate(t.cross_checks, 2)]
    return {
        "memoryGB": t.decision.tier_gb,
        "models": models,
        "executionOrder": [m["name"] for m in models],
        "concurrentLimit": t.concurrent_limit,
    }


def suite_evidence(s: SuiteStat, needed: int | None) -> dict[str, Any]:
    return {
        "suite": s.suite,
        "metric": s.metric,
        "value": s.value,
        "ci": [s.low, s.high],
        "n": s.n,
        "errors": s.errors,
        "parseFailures": s.parse_failures,
        "pending": s.pending,
        "suiteVersion": s.suite_version,
        "templateVersion": s.template_version,
        "itemsFor5Points": needed,
        "lenient": s.lenient,
        "note": s.note,
    }


def config_race(c: ConfigStat) -> dict[str, Any] | None:
    """Where a raced configuration stopped: its figures rest on these items only (None: not raced)."""
    r = c.race
    return None if r is None else {"reason": r.reason, "items": r.items, "total": r.total, "by": r.by}


def contention_evidence(t: TierChoice, max_slowdown: float) -> dict[str, Any]:
    """The contention check as the file records it: alone, then each step with its slowdowns."""
    found = t.contention
    if found is None:
        why = "並べて動かすクロスチェックがありません" if not t.cross_checks else "未測定（同時実行は 1 に制限）"
        return {"measured": False, "note": why, "limit": t.concurrent_limit, "maxSlowdown": max_slowdown}
    return {
        "measured": True,
        "main": found.main,
        "neighbours": found.neighbours,
        "maxSlowdown": found.max_slowdown,
        "alone": {"ttftS": found.alone.ttft_s, "tokensPerS": found.alone.tokens_per_s, "probes": found.alone.probes},
        "steps": [
            {
                "concurrent": 1 + s.k,
                "running": [found.main, *found.neighbours[: s.k]],
                "ttftS": s.speed.ttft_s,
                "tokensPerS": s.speed.tokens_per_s,
                "probes": s.speed.probes,
                "ttftSlowdown": s.ttft_ratio,
                "tokensPerSSlowdown": s.speed_ratio,
                "within": s.within,
            }
            for s in found.steps
        ],
        "limit": found.limit,
    }


def config_evidence(
    ev: Evidence,
    c: Candidate,
    power: dict[str, int] | None = None,
    *,
    detail: bool = True,
    footprint: Footprint | None = None,
) -> dict[str, Any]:
    """A configuration's figures; with `detail` (the chosen ones), each suite with its interval too."""
    cs = c.config
    return {
        "config": c.label,
        "model": cs.model,
        "preset": cs.preset,
        "quality": c.quality,
        "components": c.components,
        "contributions": c.contributions,
        "merit": c.merit,
        "latencyPenalty": c.latency_penalty,
        "score": c.score,
        "latencyS": cs.latency_s,
        "modelLatencyS": ev.model_latency.get(cs.model),
        "ttftS": cs.ttft_s,
        "tokensPerS": cs.tokens_per_s,
        "memoryBytes": c.memory,
        "memorySource": footprint.source if footprint else None,
        "memoryNumCtx": footprint.num_ctx if footprint else None,
        "speedSource": cs.speed_source,
        "speedProbes": cs.probes,
        "suites": [suite_evidence(cs.suites[s], (power or {}).get(s)) for s in ev.counted_suites()] if detail else [],
        "categories": ev.category_quality(cs),
        "runIds": sorted(cs.run_ids),
        "race": config_race(cs),
    }


def tier_evidence(
    ev: Evidence, t: TierChoice, alpha: float, max_slowdown: float, footprints: dict[str, Footprint]
) -> dict[str, Any]:
    d = t.decision
    decision: dict[str, Any] = {
        "incumbent": d.incumbent.label if d.incumbent else None,
        "incumbentSource": d.incumbent_source,
        "challenger": d.challenger.label if d.challenger else None,
        "outcome": d.outcome,
        "reason": d.reason,
        "alpha": alpha,
        "tests": [
            {
                "name": r.name,
                "test": r.test,
                "n": r.n,
                "diff": r.diff,
                "ci": [r.low, r.high],
                "p": r.p,
                "pHolm": r.p_holm,
                "favours": r.favours,
                "inFamily": r.in_family,
                "note": r.note,
            }
            for r in d.tests
        ],
    }
    if d.margin is not None:
        m = d.margin
        decision["margin"] = {
            "qualityDiff": m.quality_diff,
            "ci": [m.low, m.high],
            "threshold": m.threshold,
            "itemsNeeded": m.items_needed,
            "enoughItems": m.enough,
            "met": m.met,
        }
    return {
        "memoryGB": d.tier_gb,
        "budgetBytes": d.budget,
        "main": config_evidence(ev, d.main, d.power, footprint=footprints.get(d.main.label)),
        "decision": decision,
        "paretoFront": d.front,
        "crossChecks": [
            {"config": c.label, "catchesMainMistakes": share, "sharedMistakes": shared}
            for c, share, shared in t.cross_checks
        ],
        "candidates": [config_evidence(ev, c, detail=False, footprint=footprints.get(c.label)) for c in d.candidates],
        "excluded": [{"config": c, "reason": why} for c, why in d.excluded],
        "memoryBytes": t.memory,
        "contention": contention_evidence(t, max_slowdown),
    }
