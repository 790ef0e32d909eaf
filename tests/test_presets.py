"""Presets: the specification's values, full parameter sets, custom presets on a base."""

from __future__ import annotations

import pytest

from llamune_eval.presets import BUILTIN, PresetError, catalogue


def test_builtin_presets_are_full_and_follow_the_specification() -> None:
    assert set(BUILTIN) == {"balanced", "creative", "fast", "code", "general"}
    for preset in BUILTIN.values():
        p = preset.params
        assert None not in (p.temperature, p.top_p, p.top_k, p.repeat_penalty, p.num_ctx)
    spec = {"code": (0.2, 0.9, 1000), "general": (0.7, 0.9, 500), "creative": (1.2, 0.95, 2000)}
    for name, (t, top_p, max_tokens) in spec.items():
        p = BUILTIN[name].params
        assert (p.temperature, p.top_p, p.max_tokens) == (t, top_p, max_tokens)


def test_custom_preset_on_a_base() -> None:
    presets = catalogue({"careful": {"base": "code", "temperature": 0.0, "description": "deterministic"}})
    assert presets["careful"].params.temperature == 0.0
    assert presets["careful"].params.max_tokens == 1000
    assert presets["careful"].description == "deterministic"


@pytest.mark.parametrize(
    ("custom", "needle"),
    [
        ({"x": {"temperature": 0.5, "seed": None}}, "missing top_p, top_k, repeat_penalty, num_ctx ("),
        ({"x": {"base": "nope"}}, "unknown preset 'nope'"),
        ({"x": {"base": "code", "temperature": 9}}, "presets.x.temperature"),
        ({"x": {"base": "code", "tempreature": 1}}, "presets.x.tempreature"),
    ],
)
def test_bad_custom_presets(custom: dict, needle: str) -> None:
    with pytest.raises(PresetError) as info:
        catalogue(custom)
    assert needle in str(info.value)
