"""The QuarterlyUpdate against the newest earlier published file, as the specification shapes it: what changed
(main models, execution order, cross-checks, parameters), new and deprecated models, and the measured quality and
speed changes per tier with their intervals (`performanceImprovements` as one string, `performanceDetails` beside
it as data).

When last quarter's main configuration was evaluated again this quarter, the change is measured on the same items
(paired); when it is the same configuration, it is read against last quarter's recorded evidence (no interval).
"""

from __future__ import annotations

import math
from typing import Literal

from llamune_eval.analysis import Evidence, latency_test, quality_difference, significant
from llamune_eval.recommend.tiers import TierChoice
from llamune_eval.settings import PerformanceChange, QuarterlyUpdate, RecommendedSettings, Tier
from llamune_eval.settings_evidence import EvidenceShape


def _old_figures(old: RecommendedSettings, gb: int) -> tuple[object, object]:
    """(quality, latency in s) of an older file's main configuration for the tier, as recorded: typed evidence, or
    an older release's raw object (a list of tiers, or a dict by GB with snake_case names before that)."""
    if isinstance(old.evidence, EvidenceShape):
        tier = old.evidence.tier(gb)
        return (tier.main.quality, tier.main.latency_s) if tier else (None, None)
    tiers = old.evidence.get("tiers")
    if isinstance(tiers, dict):
        main = (tiers.get(str(gb)) or {}).get("main") or {}
        return main.get("quality"), main.get("latency_s")
    for t in tiers or []:
        if isinstance(t, dict) and t.get("memoryGB") == gb:
            main = t.get("main") or {}
            return main.get("quality"), main.get("latencyS")
    return None, None


def old_main(old: RecommendedSettings, gb: int) -> tuple[str, str | None] | None:
    """(model, preset) of an older file's main configuration for the tier (preset None in files without one)."""
    tier = next((t for t in old.tiers if t.memory_gb == gb), None)
    if tier is None or not tier.models:
        return None
    main = min(tier.models, key=lambda m: m.priority)
    return main.name, main.preset


def _label(main: tuple[str, str | None] | None) -> str | None:
    return None if main is None else (f"{main[0]}:{main[1]}" if main[1] else main[0])


def _pt(x: float | None) -> str:
    return "-" if x is None else f"{x * 100:+.1f}pt"


def _speed(change: float | None) -> str:
    if change is None:
        return "-"
    return f"{abs(change):.0%}{'向上' if change < 0 else '低下'}"


Metric = Literal["quality", "latency"]
Pair = tuple[float | None, float | None]  # before, after
Interval = tuple[float | None, float | None, bool | None]  # low, high, significant


def _measure(ev: Evidence, t: TierChoice, old: RecommendedSettings, alpha: float) -> list[PerformanceChange]:
    """Per measure, the change from last quarter's main configuration: paired on this quarter's items when it was
    evaluated again (with the interval at 1 - alpha and `significant`: p < alpha), else against its recorded
    evidence (no interval: low, high and significant are left out, not null)."""
    gb, new = t.decision.tier_gb, t.decision.main
    main = old_main(old, gb)
    before = _label(main)
    if main is None or before is None:
        return []

    def change(
        metric: Metric, values: Pair, diff: float | None, basis: str, text: str, test: Interval | None = None
    ) -> PerformanceChange:
        made = PerformanceChange(
            tier=gb,
            metric=metric,
            before=before,
            after=new.label,
            before_value=values[0],
            after_value=values[1],
            change=diff,
            basis=basis,
            description=f"{gb}GB {text}",
        )
        if test is not None:
            made.low, made.high, made.significant = test
        return made

    suites = ev.counted_suites()
    prior = ev.configs.get((main[0], main[1])) if main[1] else None
    out: list[PerformanceChange] = []
    if prior is not None and prior is not new.config and ev.quality(prior, suites) is not None:
        level, paired = f"{1 - alpha:.0%}区間", "paired: the same items this quarter"
        q = quality_difference(ev, new.config, prior, suites)
        sig = significant(q.p, alpha)
        text = f"品質 {_pt(q.diff)}（{level} {_pt(q.low)}〜{_pt(q.high)}{'' if sig else '、有意差なし'}）"
        out.append(
            change("quality", (ev.quality(prior, suites), new.quality), q.diff, paired, text, (q.low, q.high, sig))
        )
        lat = latency_test(ev, new.config, prior, suites)
        if lat.diff is not None:
            diff = math.exp(-lat.diff) - 1
            lo = math.exp(-lat.high) - 1 if lat.high is not None else None
            hi = math.exp(-lat.low) - 1 if lat.low is not None else None
            sig = significant(lat.p, alpha)
            bounds = f"{'-' if lo is None else f'{lo:+.0%}'}〜{'-' if hi is None else f'{hi:+.0%}'}"
            text = f"推論速度 {_speed(diff)}（応答時間 {diff:+.0%}、{level} {bounds}{'' if sig else '、有意差なし'}）"
            out.append(change("latency", (prior.latency_s, new.config.latency_s), diff, paired, text, (lo, hi, sig)))
        return out
    q0, l0 = _old_figures(old, gb)
    basis = f"against {old.version}'s recorded evidence (other items or versions: no interval)"
    if isinstance(q0, int | float):
        diff = new.quality - q0
        out.append(change("quality", (q0, new.quality), diff, basis, f"品質 {_pt(diff)}（前四半期の記録と比較）"))
    l1 = new.config.latency_s
    if isinstance(l0, int | float) and l0 > 0 and l1:
        diff = l1 / l0 - 1
        out.append(change("latency", (l0, l1), diff, basis, f"推論速度 {_speed(diff)}（前四半期の記録と比較）"))
    return out


def _changes(tiers: list[TierChoice], entries: list[Tier], old: RecommendedSettings) -> list[str]:
    out = []
    for t, entry in zip(tiers, entries, strict=True):
        gb = entry.memory_gb
        old_tier = next((x for x in old.tiers if x.memory_gb == gb), None)
        if old_tier is None:
            out.append(f"{gb}GB: 新しいティア（{' → '.join(entry.execution_order)}）")
            continue
        before = _label(old_main(old, gb))
        after = t.decision.main.label
        if before != after:
            out.append(f"{gb}GB: メイン {before} → {after}（{t.decision.reason}）")
        elif t.decision.challenger is not None:
            out.append(f"{gb}GB: メイン {after} を維持（{t.decision.reason}）")
        if old_tier.execution_order != entry.execution_order:
            out.append(
                f"{gb}GB: 実行順 {' → '.join(old_tier.execution_order)} を {' → '.join(entry.execution_order)} に変更"
            )
        old_params = {m.name: m.parameters.view() for m in old_tier.models}
        for m in entry.models:
            was, now = old_params.get(m.name), m.parameters.view()
            if was is not None and was != now:
                diffs = [
                    f"{k} {was.get(k)}→{now.get(k)}" for k in sorted(set(was) | set(now)) if was.get(k) != now.get(k)
                ]
                out.append(f"{gb}GB: {m.name} のパラメータ {', '.join(diffs)}")
    return out


def quarterly_update(
    version: str, entries: list[Tier], tiers: list[TierChoice], ev: Evidence, old: RecommendedSettings, alpha: float
) -> QuarterlyUpdate:
    """What changed against `old` (the file in force): `entries` are this quarter's tiers as written."""
    names_new = {m.name for t in entries for m in t.models}
    names_old = {m.name for t in old.tiers for m in t.models} | {m.name for m in old.models}
    details = [d for t in tiers for d in _measure(ev, t, old, alpha)]
    return QuarterlyUpdate(
        new_version=version,
        old_version=old.version,
        changes=_changes(tiers, entries, old),
        new_models=sorted(names_new - names_old),
        deprecated_models=sorted(names_old - names_new),
        performance_improvements="、".join(d.description for d in details) or "比較できる測定はありません",
        performance_details=details,
    )
