"""The QuarterlyUpdate against the newest earlier published file, as the specification shapes it: what changed
(main models, execution order, cross-checks, parameters), new and deprecated models, and the measured quality and
speed changes per tier with their intervals (`performanceImprovements` as one string, `performanceDetails` beside
it as data).

When last quarter's main configuration was evaluated again this quarter, the change is measured on the same items
(paired); when it is the same configuration, it is read against last quarter's recorded evidence (no interval).
"""

from __future__ import annotations

import math
from typing import Any

from llamune_eval.analysis import Evidence, latency_test, quality_difference
from llamune_eval.recommend.tiers import TierChoice
from llamune_eval.settings import RecommendedSettings


def _old_tier_evidence(old: RecommendedSettings, gb: int) -> dict[str, Any]:
    """The main configuration's evidence of an older file (a list of tiers now, a dict by GB before)."""
    tiers = old.evidence.get("tiers")
    if isinstance(tiers, dict):
        found = tiers.get(str(gb)) or {}
        main = found.get("main") or {}
        return {"config": main.get("config"), "quality": main.get("quality"), "latencyS": main.get("latency_s")}
    for t in tiers or []:
        if isinstance(t, dict) and t.get("memoryGB") == gb:
            return dict(t.get("main") or {})
    return {}


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


def _measure(ev: Evidence, t: TierChoice, old: RecommendedSettings, alpha: float) -> list[dict[str, Any]]:
    gb, new = t.decision.tier_gb, t.decision.main
    main = old_main(old, gb)
    before = _label(main)
    if main is None or before is None:
        return []
    old_ev = _old_tier_evidence(old, gb)
    suites = ev.counted_suites()
    prior = ev.configs.get((main[0], main[1])) if main[1] else None
    out: list[dict[str, Any]] = []
    if prior is not None and prior is not new.config and ev.quality(prior, suites) is not None:
        diff, low, high = quality_difference(ev, new.config, prior, suites)
        sig = None if low is None or high is None else (low > 0 or high < 0)
        out.append(
            {
                "tier": gb,
                "metric": "quality",
                "before": before,
                "after": new.label,
                "beforeValue": ev.quality(prior, suites),
                "afterValue": new.quality,
                "change": diff,
                "low": low,
                "high": high,
                "significant": sig,
                "basis": "paired: the same items this quarter",
                "description": f"{gb}GB 品質 {_pt(diff)}（95%区間 {_pt(low)}〜{_pt(high)}"
                f"{'' if sig else '、有意差なし'}）",
            }
        )
        lat = latency_test(ev, new.config, prior, suites)
        if lat.diff is not None:
            change = math.exp(-lat.diff) - 1
            lo = math.exp(-lat.high) - 1 if lat.high is not None else None
            hi = math.exp(-lat.low) - 1 if lat.low is not None else None
            sig = lat.p is not None and lat.p < alpha
            out.append(
                {
                    "tier": gb,
                    "metric": "latency",
                    "before": before,
                    "after": new.label,
                    "beforeValue": prior.latency_s,
                    "afterValue": new.config.latency_s,
                    "change": change,
                    "low": lo,
                    "high": hi,
                    "significant": sig,
                    "basis": "paired: the same items this quarter",
                    "description": f"{gb}GB 推論速度 {_speed(change)}（応答時間 {change:+.0%}、95%区間 "
                    f"{'-' if lo is None else f'{lo:+.0%}'}〜{'-' if hi is None else f'{hi:+.0%}'}"
                    f"{'' if sig else '、有意差なし'}）",
                }
            )
        return out
    q0, l0 = old_ev.get("quality"), old_ev.get("latencyS")
    basis = f"against {old.version}'s recorded evidence (other items or versions: no interval)"
    if isinstance(q0, int | float):
        diff = new.quality - q0
        out.append(
            {
                "tier": gb,
                "metric": "quality",
                "before": before,
                "after": new.label,
                "beforeValue": q0,
                "afterValue": new.quality,
                "change": diff,
                "basis": basis,
                "description": f"{gb}GB 品質 {_pt(diff)}（前四半期の記録と比較）",
            }
        )
    l1 = new.config.latency_s
    if isinstance(l0, int | float) and l0 > 0 and l1:
        change = l1 / l0 - 1
        out.append(
            {
                "tier": gb,
                "metric": "latency",
                "before": before,
                "after": new.label,
                "beforeValue": l0,
                "afterValue": l1,
                "change": change,
                "basis": basis,
                "description": f"{gb}GB 推論速度 {_speed(change)}（前四半期の記録と比較）",
            }
        )
    return out


def _changes(tiers: list[TierChoice], entries: list[dict[str, Any]], old: RecommendedSettings) -> list[str]:
    out = []
    for t, entry in zip(tiers, entries, strict=True):
        gb = entry["memoryGB"]
        old_tier = next((x for x in old.tiers if x.memory_gb == gb), None)
        if old_tier is None:
            out.append(f"{gb}GB: 新しいティア（{' → '.join(entry['executionOrder'])}）")
            continue
        before = _label(old_main(old, gb))
        after = t.decision.main.label
        if before != after:
            out.append(f"{gb}GB: メイン {before} → {after}（{t.decision.reason}）")
        elif t.decision.challenger is not None:
            out.append(f"{gb}GB: メイン {after} を維持（{t.decision.reason}）")
        if old_tier.execution_order != entry["executionOrder"]:
            out.append(
                f"{gb}GB: 実行順 {' → '.join(old_tier.execution_order)} を {' → '.join(entry['executionOrder'])} に変更"
            )
        old_params = {m.name: m.parameters.view() for m in old_tier.models}
        for m in entry["models"]:
            was = old_params.get(m["name"])
            if was is not None and was != m["parameters"]:
                diffs = [
                    f"{k} {was.get(k)}→{m['parameters'].get(k)}"
                    for k in sorted(set(was) | set(m["parameters"]))
                    if was.get(k) != m["parameters"].get(k)
                ]
                out.append(f"{gb}GB: {m['name']} のパラメータ {', '.join(diffs)}")
    return out


def quarterly_update(
    data: dict[str, Any], tiers: list[TierChoice], ev: Evidence, old: RecommendedSettings | None, alpha: float
) -> dict[str, Any] | None:
    if old is None:
        return None
    names_new = {m["name"] for t in data["tiers"] for m in t["models"]}
    names_old = {m.name for t in old.tiers for m in t.models} | {m.name for m in old.models}
    details = [d for t in tiers for d in _measure(ev, t, old, alpha)]
    return {
        "newVersion": data["version"],
        "oldVersion": old.version,
        "changes": _changes(tiers, data["tiers"], old),
        "newModels": sorted(names_new - names_old),
        "deprecatedModels": sorted(names_old - names_new),
        "performanceImprovements": "、".join(d["description"] for d in details) or "比較できる測定はありません",
        "performanceDetails": details,
    }
