"""From a tier's decision to the file: the cross-check models that catch the main one's mistakes, how many may run
at once, the ModelConfig entries (the preset's own parameters, never a suite's answer cap) and the evidence."""

from __future__ import annotations

from dataclasses import dataclass

from llamune_eval.analysis import ConfigStat, Evidence, SuiteStat
from llamune_eval.analysis.contention import Contention, contention
from llamune_eval.recommend.decide import Candidate, Decision
from llamune_eval.settings import LLMParameters, ModelConfig, Tier
from llamune_eval.settings_evidence import (
    ConfigEvidence,
    ConfigRace,
    ContentionAlone,
    ContentionEvidence,
    ContentionStep,
    CrossCheckEvidence,
    DecisionEvidence,
    Excluded,
    MarginEvidence,
    SuiteEvidence,
    TestEvidence,
    TierEvidence,
)
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


def model_config(c: Candidate, priority: int, purpose: str) -> ModelConfig:
    assert c.config.params is not None  # candidates always have their parameters
    return ModelConfig(
        name=c.config.model,
        priority=priority,
        purpose=purpose,
        parameters=LLMParameters.of(c.config.params),
        preset=c.config.preset,
    )


def tier_entry(t: TierChoice) -> Tier:
    models = [model_config(t.decision.main, 1, PURPOSES[0])]
    models += [model_config(c, i, PURPOSES[1]) for i, (c, _, _) in enumerate(t.cross_checks, 2)]
    return Tier(
        memory_gb=t.decision.tier_gb,
        models=models,
        execution_order=[m.name for m in models],
        concurrent_limit=t.concurrent_limit,
    )


def suite_evidence(s: SuiteStat, needed: int | None) -> SuiteEvidence:
    return SuiteEvidence(
        suite=s.suite,
        metric=s.metric,
        value=s.value,
        ci=[s.low, s.high],
        n=s.n,
        errors=s.errors,
        parse_failures=s.parse_failures,
        pending=s.pending,
        suite_version=s.suite_version,
        template_version=s.template_version,
        items_for_5_points=needed,
        lenient=s.lenient,
        note=s.note,
    )


def config_race(c: ConfigStat) -> ConfigRace | None:
    """Where a raced configuration stopped: its figures rest on these items only (None: not raced)."""
    r = c.race
    return None if r is None else ConfigRace(reason=r.reason, items=r.items, total=r.total, by=r.by)


def contention_evidence(t: TierChoice, max_slowdown: float) -> ContentionEvidence:
    """The contention check as the file records it: alone, then each step with its slowdowns."""
    found = t.contention
    if found is None:
        why = "並べて動かすクロスチェックがありません" if not t.cross_checks else "未測定（同時実行は 1 に制限）"
        return ContentionEvidence(measured=False, note=why, limit=t.concurrent_limit, max_slowdown=max_slowdown)
    alone = found.alone
    return ContentionEvidence(
        measured=True,
        main=found.main,
        neighbours=found.neighbours,
        max_slowdown=found.max_slowdown,
        alone=ContentionAlone(ttft_s=alone.ttft_s, tokens_per_s=alone.tokens_per_s, probes=alone.probes),
        steps=[
            ContentionStep(
                concurrent=1 + s.k,
                running=[found.main, *found.neighbours[: s.k]],
                ttft_s=s.speed.ttft_s,
                tokens_per_s=s.speed.tokens_per_s,
                probes=s.speed.probes,
                ttft_slowdown=s.ttft_ratio,
                tokens_per_s_slowdown=s.speed_ratio,
                within=s.within,
            )
            for s in found.steps
        ],
        limit=found.limit,
    )


def config_evidence(
    ev: Evidence,
    c: Candidate,
    power: dict[str, int] | None = None,
    *,
    detail: bool = True,
    footprint: Footprint | None = None,
) -> ConfigEvidence:
    """A configuration's figures; with `detail` (the chosen ones), each suite with its interval too."""
    cs = c.config
    return ConfigEvidence(
        config=c.label,
        model=cs.model,
        preset=cs.preset,
        quality=c.quality,
        components=c.components,
        contributions=c.contributions,
        merit=c.merit,
        latency_penalty=c.latency_penalty,
        score=c.score,
        latency_s=cs.latency_s,
        model_latency_s=ev.model_latency.get(cs.model),
        ttft_s=cs.ttft_s,
        tokens_per_s=cs.tokens_per_s,
        memory_bytes=c.memory,
        memory_source=footprint.source if footprint else None,
        memory_num_ctx=footprint.num_ctx if footprint else None,
        speed_source=cs.speed_source,
        speed_probes=cs.probes,
        suites=[suite_evidence(cs.suites[s], (power or {}).get(s)) for s in ev.counted_suites()] if detail else [],
        categories=ev.category_quality(cs),
        run_ids=sorted(cs.run_ids),
        race=config_race(cs),
    )


def decision_evidence(d: Decision, alpha: float) -> DecisionEvidence:
    """The decision as the file records it: the incumbent, the challenger, every test and the margin route."""
    tests = [
        TestEvidence(
            name=r.name,
            test=r.test,
            n=r.n,
            diff=r.diff,
            ci=[r.low, r.high],
            p=r.p,
            p_holm=r.p_holm,
            favours=r.favours,
            in_family=r.in_family,
            note=r.note,
        )
        for r in d.tests
    ]
    out = DecisionEvidence(
        incumbent=d.incumbent.label if d.incumbent else None,
        incumbent_source=d.incumbent_source,
        challenger=d.challenger.label if d.challenger else None,
        outcome=d.outcome,
        reason=d.reason,
        alpha=alpha,
        tests=tests,
    )
    if d.margin is not None:  # set only when there is one: a file without a margin route has no `margin` key
        m = d.margin
        out.margin = MarginEvidence(
            quality_diff=m.quality_diff,
            ci=[m.low, m.high],
            threshold=m.threshold,
            items_needed=m.items_needed,
            enough_items=m.enough,
            met=m.met,
        )
    return out


def tier_evidence(
    ev: Evidence, t: TierChoice, alpha: float, max_slowdown: float, footprints: dict[str, Footprint]
) -> TierEvidence:
    d = t.decision
    return TierEvidence(
        memory_gb=d.tier_gb,
        budget_bytes=d.budget,
        main=config_evidence(ev, d.main, d.power, footprint=footprints.get(d.main.label)),
        decision=decision_evidence(d, alpha),
        pareto_front=d.front,
        cross_checks=[
            CrossCheckEvidence(config=c.label, catches_main_mistakes=share, shared_mistakes=shared)
            for c, share, shared in t.cross_checks
        ],
        candidates=[config_evidence(ev, c, detail=False, footprint=footprints.get(c.label)) for c in d.candidates],
        excluded=[Excluded(config=c, reason=why) for c, why in d.excluded],
        memory_bytes=t.memory,
        contention=contention_evidence(t, max_slowdown),
    )
