"""The sweep: models x presets x suites x items x repeats, each unit keyed so a re-run can skip it.

A key covers everything that decides the answer: suite name, data and prompt-template versions, item, model and
its digest, preset name and the parameters actually sent (the suite's max_tokens cap and the seed included), and
the repeat — sampled (temperature > 0) generations are reproducible through the seed, so they are keyed too.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import orjson

from llamune_eval.benchmarks import Item, Suite
from llamune_eval.presets import Preset
from llamune_eval.types import ModelInfo, SamplingParams


@dataclass(frozen=True, slots=True)
class Unit:
    suite: Suite
    item: Item
    model: str
    digest: str
    engine: str
    preset: str
    params: SamplingParams
    repeat: int
    key: str
    params_json: str
    preset_params_json: str  # the configuration's own parameters: what the chat runtime would be given


def effective_params(preset: Preset, suite: Suite, seed: int, thinking_budget: int = 0) -> SamplingParams:
    """What one request sends: the preset's parameters with the suite's answer-length cap and this repeat's seed;
    a reasoning model's thinking budget is added beside the cap (its thinking and answer share one token limit).
    The cap belongs to the request, never to the configuration (`Unit.preset_params_json` keeps the preset's own)."""
    p = preset.params
    max_tokens = min(p.max_tokens, suite.max_tokens) if suite.max_tokens else p.max_tokens
    return p.model_copy(update={"max_tokens": max_tokens + thinking_budget, "seed": seed})


def sample_key(suite: Suite, item_id: str, model: str, digest: str, preset: str, params_json: str, repeat: int) -> str:
    """The sample's identity; `params_json` is the exact parameter set sent (cap and seed included)."""
    fields = [suite.name, suite.version, suite.template_version, item_id, model, digest, preset, params_json, repeat]
    return hashlib.sha256(orjson.dumps(fields)).hexdigest()[:32]


def build_plan(
    suites: list[Suite],
    models: list[ModelInfo],
    presets: list[Preset],
    repeats: int = 1,
    seed: int = 0,
    thinking_budgets: dict[str, int] | None = None,
) -> list[Unit]:
    """Units grouped by model (an engine that swaps models, like Ollama, loads each once), then preset."""
    units = []
    for info in models:
        model, digest = info.name, info.digest or ""
        budget = (thinking_budgets or {}).get(model, 0)
        for preset in presets:
            own = preset.params.model_dump_json()
            for suite in suites:
                for repeat in range(repeats):
                    params = effective_params(preset, suite, seed + repeat, budget)
                    params_json = params.model_dump_json()
                    for item in suite.items:
                        key = sample_key(suite, item.id, model, digest, preset.name, params_json, repeat)
                        units.append(
                            Unit(
                                suite,
                                item,
                                model,
                                digest,
                                info.engine,
                                preset.name,
                                params,
                                repeat,
                                key,
                                params_json,
                                own,
                            )
                        )
    return units
