"""Settings files for the summary section, with figures chosen so the HTML can be read for them: one as `recommend`
writes it today (every evidence key), one as an older release wrote it (tiers' evidence a dict by GB, most keys
missing, the update's improvements a list)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from llamune_eval.settings import digest_of

GB = 1024**3
PARAMS = {"temperature": 0.7, "top_p": 0.9, "max_tokens": 1024}


def _model(name: str, priority: int, purpose: str, preset: str | None) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": name, "priority": priority, "purpose": purpose, "parameters": PARAMS}
    return entry | ({"preset": preset} if preset else {})


def _tier(gb: int, models: list[dict[str, Any]]) -> dict[str, Any]:
    return {"memoryGB": gb, "models": models, "executionOrder": [m["name"] for m in models], "concurrentLimit": 2}


def _config(label: str, quality: float, score: float, contributions: dict[str, float]) -> dict[str, Any]:
    model, preset = label.rsplit(":", 1)
    return {"config": label, "model": model, "preset": preset, "quality": quality,
            "components": {"quality": quality}, "contributions": contributions, "merit": score,
            "latencyPenalty": 0.0, "score": score, "memoryBytes": 6 * GB}  # fmt: skip


def full() -> dict[str, Any]:
    """A published 2026-Q4 whose challenger replaced last quarter's model on a significant test."""
    main = _config("qwen2.5:7b:balanced", 0.7123, 0.8456,
                   {"quality": 0.7123, "rating": 0.02, "success": 0.031, "retry": -0.004, "memory": 0.012,
                    "latency": -0.0155})  # fmt: skip
    main |= {"latencyS": 1.234, "modelLatencyS": 1.5, "ttftS": 0.2, "tokensPerS": 42.0,
             "suites": [{"suite": "jnli", "metric": "accuracy", "value": 0.81, "ci": [0.75, 0.86], "n": 300,
                         "errors": 0, "parseFailures": 1, "pending": 0, "suiteVersion": "1",
                         "templateVersion": "jnli-1-3shot", "itemsFor5Points": 1234}]}  # fmt: skip
    tests = [
        {"name": "jnli 品質", "test": "mcnemar", "n": 300, "diff": 0.062, "ci": [0.021, 0.103], "p": 0.0002,
         "pHolm": 0.0004, "favours": "qwen2.5:7b:balanced", "inFamily": True},
        {"name": "応答時間", "test": "sign-flip", "n": 300, "diff": 0.1, "ci": [None, None], "p": 0.2,
         "pHolm": None, "favours": None, "inFamily": False, "note": "速度は総合点にだけ効く"},
    ]  # fmt: skip
    decision = {"incumbent": "llama3.1:8b:balanced", "incumbentSource": "2026-Q3",
                "challenger": "qwen2.5:7b:balanced", "outcome": "replaced", "reason": "挑戦者が有意に優位",
                "alpha": 0.05, "tests": tests,
                "margin": {"qualityDiff": 0.062, "ci": [0.021, 0.103], "threshold": 0.05,
                           "itemsNeeded": {"jnli": 1234}, "enoughItems": True, "met": True}}  # fmt: skip
    evidence = {"memoryGB": 16, "budgetBytes": 12 * GB, "main": main, "decision": decision,
                "paretoFront": ["qwen2.5:7b:balanced", "gemma2:9b:fast"],
                "crossChecks": [{"config": "gemma2:9b:fast", "catchesMainMistakes": 0.4, "sharedMistakes": 25}],
                "candidates": [main, _config("gemma2:9b:fast", 0.69, 0.7001, {"quality": 0.69})],
                "excluded": [{"config": "llama3.1:70b:balanced", "reason": "needs 40.0 GB, over 12.0 GB"}],
                "memoryBytes": {"qwen2.5:7b": 6 * GB, "gemma2:9b": 7 * GB}}  # fmt: skip
    rule = {"alpha": 0.05, "margin": 0.05, "min_items": 100, "rating_weight": 0.2, "success_weight": 0.2,
            "retry_weight": 0.1, "memory_weight": 0.03, "latency_per_doubling": 0.03, "headroom": 0.75}  # fmt: skip
    usage = {"period": "2026-Q3", "events": 1500,
             "models": {"qwen2.5:7b": {"answers": 900, "successes": 850, "up": 80, "down": 10, "rating": 0.889,
                                       "success": 0.944, "retry": 0.61, "retryDecisions": 12}}}  # fmt: skip
    models = [_model("qwen2.5:7b", 1, "main", "balanced"), _model("gemma2:9b", 2, "cross-check", "fast")]
    return {
        "version": "2026-Q4", "quarter": "2026 Q4", "preview": False, "models": models,
        "executionOrder": ["qwen2.5:7b", "gemma2:9b"], "concurrentLimit": 2, "updatedAt": "2026-09-20T10:00:00+00:00",
        "changelog": "16GB: qwen2.5:7b → gemma2:9b", "tiers": [_tier(16, models)],
        "update": {"newVersion": "2026-Q4", "oldVersion": "2026-Q3", "changes": ["16GB: llama3.1:8b → qwen2.5:7b"],
                   "newModels": ["qwen2.5:7b"], "deprecatedModels": [], "performanceImprovements": "品質 +6.2pt"},
        "evidence": {"rule": rule, "countedSuites": ["jnli", "jsts"],
                     "notCounted": [{"suite": "business-writing", "reason": "採点待ち"}], "publishable": True,
                     "thinSuites": [], "usage": usage, "data": [], "tiers": [evidence],
                     "bestPresets": {"qwen2.5:7b": {"coding": "precise"}}},
        "signature": "ab" * 32,
    }  # fmt: skip


def old() -> dict[str, Any]:
    """A preview as an older release wrote it: tier evidence by GB with a bare main configuration (snake_case
    latency), no rule weight for latency, no usage, an update whose improvements were a list; a 32 GB tier without
    evidence and a model without a preset."""
    models16 = [_model("llama3.1:8b", 1, "main", "balanced")]
    models32 = [_model("mixtral:8x7b", 1, "main", None)]
    return {
        "version": "2026-Q4", "quarter": "2026 Q4", "preview": True, "models": models16,
        "executionOrder": ["llama3.1:8b"], "concurrentLimit": 1, "updatedAt": "2026-06-01T00:00:00+00:00",
        "changelog": "old", "tiers": [_tier(16, models16), _tier(32, models32)],
        "update": {"newVersion": "2026-Q4", "performanceImprovements": [{"description": "品質 +3pt"}, "速度 10%向上"]},
        "evidence": {"rule": {"alpha": 0.1, "margin": 0.04, "min_items": 50, "quality_weight": 1.0},
                     "thinSuites": [{"suite": "jnli", "n": 40, "minItems": 50}],
                     "tiers": {"16": {"main": {"config": "llama3.1:8b:balanced", "quality": 0.65, "latency_s": 2.0}}}},
    }  # fmt: skip


def write(folder: Path, data: dict[str, Any], name: str) -> Path:
    """The file sealed as `recommend` seals it (its digest over the canonical JSON), so the report's check passes."""
    folder.mkdir(parents=True, exist_ok=True)
    sealed = dict(data, digest=digest_of(data))
    path = folder / name
    path.write_text(json.dumps(sealed, ensure_ascii=False, indent=2), encoding="utf-8")
    return path
