"""The quarter's file: RecommendedSettings per hardware tier, decided by the rule in `decide` from the evidence
and the chat usage, with the QuarterlyUpdate against the file in force and the evidence behind every choice."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from llamune_eval.analysis import Evidence
from llamune_eval.analysis.memory import Memory, context_of
from llamune_eval.analysis.provenance import data_sources
from llamune_eval.config import Config
from llamune_eval.quarters import QUARTER, quarter_of
from llamune_eval.recommend.decide import decide
from llamune_eval.recommend.shapes import PublishedSettings
from llamune_eval.recommend.tiers import TierChoice, cross_checks, tier_entry, tier_evidence
from llamune_eval.recommend.update import old_main, quarterly_update
from llamune_eval.settings import RecommendedSettings, load_recommended, published_files
from llamune_eval.settings_evidence import (
    EvidenceShape,
    GpuShape,
    MachineShape,
    MeasurementEvidence,
    NotCounted,
    RaceEvidence,
    ThinSuite,
    UsageEvidence,
    UsageModelEvidence,
)
from llamune_eval.store import measures
from llamune_eval.store.races import RaceRow, full_run
from llamune_eval.store.results import Store
from llamune_eval.store.selection import model_facts
from llamune_eval.types import Footprint, InputError, ModelInfo
from llamune_eval.usage.signals import UsageSignals, usage_signals


def in_force(out_dir: Path, quarter: str) -> RecommendedSettings | None:
    """The newest published file for this quarter or an earlier one: the status quo the decision defends."""
    if not out_dir.is_dir():
        return None
    for path in published_files(out_dir):
        if quarter_of(path.stem) <= quarter:
            try:
                return load_recommended(path)
            except InputError:
                continue
    return None


def memory_needs(ev: Evidence, store: Store, cfg: Config, listed: list[ModelInfo]) -> dict[str, Footprint]:
    """config label -> its memory at the preset's context: measured by the quarter's engines, else estimated from
    the GGUF header or the size (analysis/memory.py); a model nothing is known of is too little evidence."""
    facts = model_facts(store) | {m.name: m for m in listed if m.size_bytes}
    memory = Memory.of_config(cfg, facts, ev.footprints)
    out = {}
    for c in ev.configs.values():
        fp = memory.of(c.model, context_of(c.params))
        if fp is None:
            raise InputError(
                f'too little evidence: the memory of {c.model} is unknown (serve it, set [models."{c.model}"] '
                f'gguf = PATH, or [recommend.model_sizes] "{c.model}" = BYTES)'
            )
        out[c.label] = fp
    return out


def measurement(store: Store, quarter: str, ev: Evidence) -> MeasurementEvidence:
    """How the quarter's speed and memory were taken, and on which machine: the operator's, not the users'."""
    raw = measures.machine_of(store, quarter, "contention") or measures.machine_of(store, quarter, "speed")
    machine = None
    if raw:  # the stored machine record (raw JSON)
        gpus = [GpuShape(name=g["name"], memory_bytes=g.get("memory_bytes")) for g in raw.get("gpus") or []]
        machine = MachineShape(cpu=raw.get("cpu", ""), cores=raw.get("cores", 0), memory_bytes=raw.get("memory_bytes"),
                               gpus=gpus, os=raw.get("os", ""))  # fmt: skip
    probed = [c for c in ev.configs.values() if c.speed_source == "probe"]
    return MeasurementEvidence(
        machine=machine,
        note="同時実行数・メモリ・速度はオペレーターのマシンでの測定値です（利用者のマシンとは異なり得ます）",
        speed="probe" if probed else "sweep",
        probed_configs=len(probed),
    )


def thin_suites(ev: Evidence, tiers: list[TierChoice], min_items: int) -> list[ThinSuite]:
    """Counted suites where a chosen configuration has fewer than `min_items` items: not enough to publish."""
    out: dict[str, int] = {}
    for t in tiers:
        for c in [t.decision.main, *(x for x, _, _ in t.cross_checks)]:
            for s in ev.counted_suites():
                n = c.config.suites[s].n
                if n < min_items:
                    out[s] = min(n, out.get(s, n))
    return [ThinSuite(suite=s, n=n, min_items=min_items) for s, n in sorted(out.items())]


def _usage(usage: UsageSignals) -> UsageEvidence:
    return UsageEvidence(
        period=usage.period or "all",
        events=usage.events,
        models={
            m: UsageModelEvidence(
                answers=s.answers,
                successes=s.successes,
                up=s.up,
                down=s.down,
                rating=s.rating,
                success=s.success,
                retry=s.retry,
                retry_decisions=s.retry_decisions,
            )
            for m, s in sorted(usage.models.items())
        },
    )


def race_evidence(rows: list[RaceRow]) -> RaceEvidence | None:
    """The quarter's race as a whole (None: not raced); `full` is what running every raced configuration through
    every item costs, so spent / full is the share of a full run the race needed."""
    if not rows:
        return None
    first = rows[0]
    return RaceEvidence(seed=first.seed, budget=first.budget, spent=first.spent, full=full_run(rows))


def best_presets(ev: Evidence) -> dict[str, dict[str, str]]:
    """Per model, the preset that scored best in each task category (the file's `preset` is the tier's choice)."""
    best: dict[str, dict[str, tuple[float, str]]] = {}
    for c in ev.configs.values():
        for category, value in ev.category_quality(c).items():
            seen = best.setdefault(c.model, {}).get(category)
            if seen is None or value > seen[0]:
                best[c.model][category] = (value, c.preset)
    return {m: {cat: preset for cat, (_, preset) in cats.items()} for m, cats in sorted(best.items())}


def not_counted(ev: Evidence) -> list[NotCounted]:
    """The suites the decision did not count, and why: a judge the check refused, or no value yet."""
    refused = ev.judge.refused() if ev.judge is not None else {}
    counted = ev.counted_suites()
    return [
        NotCounted(suite=s, reason=refused.get(s, "no configuration has a value yet (waiting for the judge)"))
        for s in ev.suites()
        if s not in counted
    ]


def build(
    store: Store,
    cfg: Config,
    quarter: str,
    listed: list[ModelInfo],
    out_dir: Path,
    *,
    preview: bool | None = None,
    ev: Evidence | None = None,
) -> dict[str, Any]:
    """The quarter's settings (not yet sealed), built as `PublishedSettings` and returned as its dump by alias.
    `preview`: True writes a preview whatever the evidence; False refuses to decide on too little evidence; None
    (the quarter's run) makes a preview of too little evidence."""
    if not QUARTER.fullmatch(quarter):  # fullmatch: `$` alone would let a trailing line break through
        raise InputError(f"quarter {quarter!r} is not YYYY-Qn")
    rule = cfg.recommend
    ev = Evidence.for_quarter(store, cfg, quarter) if ev is None else ev
    if not ev.configs or not ev.counted_suites():
        raise InputError("too little evidence: the store has no scored samples (run `llamune-eval run` first)")
    footprints = memory_needs(ev, store, cfg, listed)
    memory = {label: fp.bytes for label, fp in footprints.items()}
    usage = usage_signals(store, quarter)
    contended = measures.timings(store, quarter, "contention")
    old = in_force(out_dir, quarter)
    tiers = []
    for gb in sorted(rule.tiers):
        previous = old_main(old, gb) if old else None
        decision = decide(
            ev,
            gb,
            memory,
            rule,
            usage,
            (previous[0], previous[1] or "") if previous else None,
            old.version if old else None,
        )
        tiers.append(cross_checks(ev, decision, rule.max_models).limited(contended, rule.max_slowdown))
    thin = thin_suites(ev, tiers, rule.min_items)
    if thin and preview is False:
        listing = ", ".join(f"{t.suite} {t.n}" for t in thin)
        raise InputError(
            f"too little evidence to publish {quarter}: items per suite {listing} (minimum "
            f"{rule.min_items}, [recommend] min_items); `--preview` writes a preview that llamune "
            "never applies"
        )
    entries = [tier_entry(t) for t in tiers]
    counted = ev.counted_suites()
    race = race_evidence(ev.races)
    evidence = EvidenceShape(
        rule=rule.model_dump(mode="json", exclude={"model_sizes", "signing_key"}),
        counted_suites=counted,
        not_counted=not_counted(ev),
        publishable=not thin,
        thin_suites=thin,
        usage=_usage(usage),
        data=data_sources(store, ev),
        tiers=[tier_evidence(ev, t, rule.alpha, rule.max_slowdown, footprints) for t in tiers],
        measurement=measurement(store, quarter, ev),
        judge=ev.judge.evidence if ev.judge is not None else None,
        best_presets=best_presets(ev),
        raced=race is not None,
        race=race,
    )
    is_preview = bool(preview or thin)
    update = quarterly_update(quarter, entries, tiers, ev, old, rule.alpha) if old else None
    lines = [
        f"{e.memory_gb}GB: {' → '.join(e.execution_order)}（{t.decision.reason}）"
        for e, t in zip(entries, tiers, strict=True)
    ]
    if is_preview:
        why = "証拠不足: " + ", ".join(f"{t.suite} {t.n}問" for t in thin) if thin else "プレビューとして作成"
        lines.insert(0, f"プレビュー（適用されません）: {why}")
    if update:
        lines += [
            *update.changes,
            f"新規: {', '.join(update.new_models) or '-'}",
            f"廃止: {', '.join(update.deprecated_models) or '-'}",
            f"性能: {update.performance_improvements}",
        ]
    published = PublishedSettings(
        version=quarter,
        quarter=quarter.replace("-", " "),
        preview=is_preview,
        models=entries[0].models,
        execution_order=entries[0].execution_order,
        concurrent_limit=entries[0].concurrent_limit,
        updated_at=datetime.now(UTC).isoformat(timespec="seconds"),
        tiers=entries,
        evidence=evidence,
        changelog="\n".join(lines),
    )
    if update is not None:  # a first quarter has no `update` key at all (not null)
        published.update = update
    return published.data()
