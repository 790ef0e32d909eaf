"""The quarter's file: RecommendedSettings per tier, the QuarterlyUpdate against the previous quarter, evidence,
canonical-JSON digest and an optional Ed25519 signature; validated against `recommended/schema.json`."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from llamune_eval.config import Config as AppConfig
from llamune_eval.engines.ollama import parse_parameter_size
from llamune_eval.recommend.evidence import Config, gather, memory_need
from llamune_eval.recommend.select import TierChoice, choose
from llamune_eval.settings import VERSION, RecommendedSettings, canonical, digest_of, newest_recommended
from llamune_eval.store.results import Store
from llamune_eval.types import InputError, ModelInfo

PURPOSES = ("メイン推論", "クロスチェック")
SCHEMA_URL = "https://json-schema.org/draft/2020-12/schema"


def json_schema() -> dict[str, Any]:
    schema = RecommendedSettings.model_json_schema(by_alias=True)
    return {"$schema": SCHEMA_URL, "title": "llamune RecommendedSettings", **schema}


def _model_config(c: Config, priority: int, purpose: str) -> dict[str, Any]:
    keys = ("temperature", "top_p", "top_k", "max_tokens", "repeat_penalty", "num_ctx")
    params = {k: c.params.get(k) for k in keys if c.params.get(k) is not None}
    return {"name": c.model, "priority": priority, "purpose": purpose, "parameters": params, "preset": c.preset}


def _tier(choice: TierChoice) -> dict[str, Any]:
    models = [_model_config(choice.main, 1, PURPOSES[0])]
    models += [_model_config(c, i, PURPOSES[1]) for i, (c, _) in enumerate(choice.cross_checks, 2)]
    return {
        "memoryGB": choice.memory_gb,
        "models": models,
        "executionOrder": [m["name"] for m in models],
        "concurrentLimit": choice.concurrent_limit,
    }


def _evidence(choice: TierChoice) -> dict[str, Any]:
    def facts(c: Config) -> dict[str, Any]:
        return {
            "config": c.label,
            "quality": c.quality,
            "latency_s": c.latency_s,
            "suites": c.suites,
            "categories": c.categories,
            "run_ids": sorted(c.run_ids),
        }

    return {
        "main": facts(choice.main),
        "pareto_front": choice.front,
        "memory_bytes": choice.memory,
        "cross_checks": [facts(c) | {"catches_main_mistakes": share} for c, share in choice.cross_checks],
    }


def best_presets(configs: list[Config]) -> dict[str, dict[str, str]]:
    """Per model, the preset that scored best in each task category (the file's `preset` is the best overall)."""
    best: dict[str, dict[str, tuple[float, str]]] = {}
    for c in configs:
        for category, value in c.categories.items():
            seen = best.setdefault(c.model, {}).get(category)
            if seen is None or value > seen[0]:
                best[c.model][category] = (value, c.preset)
    return {m: {cat: preset for cat, (_, preset) in cats.items()} for m, cats in best.items()}


def quarterly_update(new: dict[str, Any], old: RecommendedSettings | None) -> dict[str, Any] | None:
    if old is None:
        return None
    names_new = {m["name"] for t in new["tiers"] for m in t["models"]}
    names_old = {m.name for t in old.tiers for m in t.models} | {m.name for m in old.models}
    changes = []
    for tier in new["tiers"]:
        old_tier = next((t for t in old.tiers if t.memory_gb == tier["memoryGB"]), None)
        old_main = old_tier.execution_order[0] if old_tier and old_tier.execution_order else None
        if old_main and old_main != tier["executionOrder"][0]:
            changes.append(f"{tier['memoryGB']}GB: メイン {old_main} → {tier['executionOrder'][0]}")
    improvements = []
    old_evidence = old.evidence.get("tiers", {})
    for tier in new["tiers"]:
        before = old_evidence.get(str(tier["memoryGB"]), {}).get("main", {})
        after = new["evidence"]["tiers"][str(tier["memoryGB"])]["main"]
        if before.get("config") == after["config"] and before.get("latency_s") and after["latency_s"]:
            change = (before["latency_s"] - after["latency_s"]) / before["latency_s"]
            if abs(change) >= 0.05:  # only what was measured, and only beyond noise
                word = "向上" if change > 0 else "低下"
                improvements.append(
                    {
                        "tier": tier["memoryGB"],
                        "model": after["config"],
                        "description": f"推論速度 {abs(change):.0%}{word}",
                    }
                )
    return {
        "newVersion": new["version"],
        "oldVersion": old.version,
        "changes": changes,
        "newModels": sorted(names_new - names_old),
        "deprecatedModels": sorted(names_old - names_new),
        "performanceImprovements": improvements,
    }


def build(store: Store, cfg: AppConfig, quarter: str, listed: list[ModelInfo], out_dir: Path) -> dict[str, Any]:
    if not VERSION.match(quarter):
        raise InputError(f"quarter {quarter!r} is not YYYY-Qn")
    configs = list(gather(store).values())
    if not configs:
        raise InputError("too little evidence: the store has no scored samples (run `llamune-eval run` first)")
    info = {m.name: m for m in listed}
    memory: dict[str, int] = {}
    for c in configs:
        m = info.get(c.model)
        size = m.size_bytes if m and m.size_bytes else cfg.recommend.model_sizes.get(c.model)
        if size is None:
            raise InputError(
                f"too little evidence: the size of {c.model} is unknown (serve it, or set "
                f"[recommend.model_sizes] {c.model} = BYTES)"
            )
        params = (m.parameter_count if m else None) or parse_parameter_size(m.parameter_size if m else None)
        need = memory_need(size, params, int(c.params.get("num_ctx") or 4096), cfg.recommend.kv_bytes_per_param_token)
        memory[c.model] = max(memory.get(c.model, 0), need)
    choices = [choose(configs, memory, gb, cfg.recommend) for gb in sorted(cfg.recommend.tiers)]
    tiers = [_tier(ch) for ch in choices]
    data: dict[str, Any] = {
        "version": quarter,
        "quarter": quarter.replace("-", " "),
        "models": tiers[0]["models"],
        "executionOrder": tiers[0]["executionOrder"],
        "concurrentLimit": tiers[0]["concurrentLimit"],
        "updatedAt": datetime.now(UTC).isoformat(timespec="seconds"),
        "tiers": tiers,
        "evidence": {
            "tiers": {str(ch.memory_gb): _evidence(ch) for ch in choices},
            "best_presets": best_presets(configs),
        },
    }
    previous, _ = newest_recommended(out_dir) if out_dir.is_dir() else (None, [])
    previous = previous if previous is not None and previous.version < quarter else None
    data["update"] = quarterly_update(data, previous)
    lines = [f"{t['memoryGB']}GB: {' → '.join(t['executionOrder'])}" for t in tiers]
    if data["update"]:
        lines += data["update"]["changes"] + [
            f"新規: {', '.join(data['update']['newModels']) or '-'}",
            f"廃止: {', '.join(data['update']['deprecatedModels']) or '-'}",
        ]
    data["changelog"] = "\n".join(lines)
    return data


def seal(data: dict[str, Any], signing_key: Path | None) -> dict[str, Any]:
    """Validate against the schema, then add the digest (and the signature over the same canonical bytes)."""
    import jsonschema

    jsonschema.Draft202012Validator(json_schema()).validate(data)
    RecommendedSettings.model_validate(data)
    sealed = dict(data)
    sealed["digest"] = digest_of(sealed)
    if signing_key is not None:
        from cryptography.hazmat.primitives.serialization import load_pem_private_key

        key = load_pem_private_key(signing_key.read_bytes(), password=None)
        sealed["signature"] = key.sign(canonical(sealed)).hex()  # type: ignore[union-attr, call-arg]
    return sealed


def write(out_dir: Path, data: dict[str, Any]) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "schema.json").write_text(json.dumps(json_schema(), ensure_ascii=False, indent=2), encoding="utf-8")
    path = out_dir / f"{data['version']}.json"
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True), encoding="utf-8")
    return path
