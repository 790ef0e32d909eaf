"""Settings for the chat runtime: recommended files checked by digest and shape, tiers by memory, custom first."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llamune_eval.settings import (
    digest_of,
    is_newer,
    load_active,
    load_recommended,
    newest_recommended,
    preview_file,
    published_for,
)
from llamune_eval.types import InputError

PARAMS = {"temperature": 0.7, "top_p": 0.9, "top_k": 40, "max_tokens": 500, "repeat_penalty": 1.1, "num_ctx": 4096}


def _model(name: str, priority: int) -> dict[str, object]:
    return {"name": name, "priority": priority, "purpose": "メイン推論" if priority == 1 else "クロスチェック",
            "parameters": PARAMS}  # fmt: skip


def _settings(version: str, **extra: object) -> dict[str, object]:
    data: dict[str, object] = {
        "version": version, "quarter": version.replace("-", " "), "models": [_model("small", 1)],
        "executionOrder": ["small"], "concurrentLimit": 1, "updatedAt": "2026-03-31T00:00:00Z",
        "changelog": "初版",
        "tiers": [
            {"memoryGB": 16, "models": [_model("small", 1)], "executionOrder": ["small"], "concurrentLimit": 1},
            {"memoryGB": 32, "models": [_model("mid", 1), _model("small", 2)], "executionOrder": ["mid", "small"],
             "concurrentLimit": 2},
        ],
    } | extra  # fmt: skip
    data["digest"] = digest_of(data)
    return data


def _write(folder: Path, data: dict[str, object], name: str | None = None) -> Path:
    path = folder / f"{name or data['version']}.json"
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    return path


def test_a_valid_file_loads_and_picks_the_tier_by_memory(tmp_path: Path) -> None:
    _write(tmp_path, _settings("2026-Q1"))
    active = load_active(tmp_path, tmp_path / "none.toml", memory_gb=24)
    assert active.source == "recommended" and active.version == "2026-Q1"
    assert [m.name for m in active.models] == ["small"] and "16 GB" in active.reason
    big = load_active(tmp_path, tmp_path / "none.toml", memory_gb=64)
    assert big.execution_order == ["mid", "small"] and big.concurrent_limit == 2
    tiny = load_active(tmp_path, tmp_path / "none.toml", memory_gb=8)
    assert [m.name for m in tiny.models] == ["small"]  # none fits: the smallest tier


def test_a_tampered_file_is_refused_and_the_previous_one_used(tmp_path: Path) -> None:
    _write(tmp_path, _settings("2026-Q1"))
    newer = _settings("2026-Q2")
    newer["concurrentLimit"] = 8  # changed after the digest was computed
    _write(tmp_path, newer)
    with pytest.raises(InputError, match="digest does not match"):
        load_recommended(tmp_path / "2026-Q2.json")
    chosen, refused = newest_recommended(tmp_path)
    assert chosen is not None and chosen.version == "2026-Q1"
    assert refused and "2026-Q2.json" in refused[0]


def test_a_file_with_a_bad_shape_is_refused_with_the_field(tmp_path: Path) -> None:
    bad = _settings("2026-Q3", models=[{"name": "x", "priority": 0, "purpose": "p", "parameters": PARAMS}])
    path = _write(tmp_path, bad)
    with pytest.raises(InputError, match=r"models\.0\.priority"):
        load_recommended(path)


CUSTOM = ('basedOn = "2026-Q1"\nconcurrentLimit = 1\n[[models]]\nname = "mine"\npriority = 1\npurpose = "メイン"\n'
          "[models.parameters]\ntemperature = 0.2\ntop_p = 0.9\nmax_tokens = 300\n")  # fmt: skip


def test_custom_settings_beat_recommended_and_hear_about_newer_ones(tmp_path: Path) -> None:
    update = {"newVersion": "2026-Q2", "oldVersion": "2026-Q1", "changes": ["mid を追加"], "newModels": ["mid"],
              "deprecatedModels": ["old"], "performanceImprovements": []}  # fmt: skip
    _write(tmp_path, _settings("2026-Q2", update=update))
    custom = tmp_path / "settings.toml"
    custom.write_text(CUSTOM, encoding="utf-8")
    active = load_active(tmp_path, custom, memory_gb=32)
    assert active.source == "custom" and [m.name for m in active.models] == ["mine"]
    assert active.newer is not None and active.newer.new_models == ["mid"] and active.newer.deprecated_models == ["old"]


def test_a_broken_custom_file_is_reported_and_the_recommendation_still_applies(tmp_path: Path) -> None:
    """One unknown key in the custom file used to drop both the custom and the recommended settings."""
    _write(tmp_path, _settings("2026-Q2"))
    custom = tmp_path / "settings.toml"
    custom.write_text('basedOn = "2026-Q1"\ncolour = "blue"\nmodels = []\n', encoding="utf-8")
    before = custom.read_bytes()
    active = load_active(tmp_path, custom, memory_gb=32)
    assert active.source == "recommended" and active.version == "2026-Q2" and active.models
    assert any("custom settings not used" in r and "settings.toml" in r and "colour" in r for r in active.refused)
    assert custom.read_bytes() == before
    custom.write_bytes(b'basedOn = "\xff"\n')
    assert any("not UTF-8" in r for r in load_active(tmp_path, custom, memory_gb=32).refused)


def test_keep_writes_the_custom_file_in_force(tmp_path: Path) -> None:
    _write(tmp_path, _settings("2026-Q2"))
    custom = tmp_path / "elsewhere.toml"
    custom.write_text(CUSTOM, encoding="utf-8")
    active = load_active(tmp_path, custom, memory_gb=32)
    assert active.custom_path == str(custom)  # what /settings keep rewrites, not the default file


def test_no_usable_settings_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no usable recommended settings"):
        load_active(tmp_path, tmp_path / "none.toml")


def test_revisions_order_after_their_quarter_and_previews_are_never_applied(tmp_path: Path) -> None:
    for version in ("2026-Q1", "2026-Q1.2", "2026-Q1.10"):
        _write(tmp_path, _settings(version))
    _write(tmp_path, _settings("2026-Q2", preview=True), name="2026-Q2.preview")
    chosen, refused = newest_recommended(tmp_path)
    assert chosen is not None and chosen.version == "2026-Q1.10" and refused == []
    with pytest.raises(InputError, match="never applied"):
        load_recommended(tmp_path / "2026-Q2.preview.json")
    _write(tmp_path, _settings("2026-Q2", preview=True))  # a preview under a published name is refused too
    chosen, refused = newest_recommended(tmp_path)
    assert chosen is not None and chosen.version == "2026-Q1.10" and "preview" in refused[0]


def test_performance_improvements_is_the_specifications_string(tmp_path: Path) -> None:
    legacy = {"newVersion": "2026-Q2", "oldVersion": "2026-Q1", "performanceImprovements": [
        {"tier": 16, "model": "a", "description": "推論速度 20%向上"}]}  # fmt: skip
    path = _write(tmp_path, _settings("2026-Q2", update=legacy))
    update = load_recommended(path).update
    assert update is not None and update.performance_improvements == "推論速度 20%向上"


def test_parameters_are_the_engines_sampling_params() -> None:
    from llamune_eval.chat.runtime import params_for
    from llamune_eval.settings import LLMParameters, ModelConfig
    from llamune_eval.types import SamplingParams

    config = ModelConfig(name="m", priority=1, purpose="メイン推論", parameters=LLMParameters(**PARAMS))
    sent = params_for(config, None)
    assert isinstance(sent, SamplingParams) and sent.max_tokens == 500 and sent.top_k == 40
    assert config.parameters.view() == PARAMS
    with pytest.raises(ValueError, match="temperature"):
        LLMParameters(top_p=0.9, max_tokens=10)  # type: ignore[call-arg]


def test_newer_orders_revisions_within_and_across_quarters() -> None:
    assert is_newer("2026-Q1.2", "2026-Q1") and is_newer("2026-Q1.10", "2026-Q1.9")
    assert is_newer("2026-Q2", "2026-Q1.10")
    assert not is_newer("2026-Q1", "2026-Q1") and not is_newer("2026-Q1", "2026-Q1.2")
    assert is_newer("2026-Q1", None) and not is_newer(None, "2026-Q1") and not is_newer(None, None)


def test_a_quarters_published_files_newest_first_and_its_preview_apart(tmp_path: Path) -> None:
    for version in ("2026-Q1", "2026-Q1.2", "2026-Q1.10", "2026-Q2"):
        _write(tmp_path, _settings(version))
    _write(tmp_path, _settings("2026-Q1", preview=True), name="2026-Q1.preview")
    assert [p.name for p in published_for(tmp_path, "2026-Q1")] == ["2026-Q1.10.json", "2026-Q1.2.json", "2026-Q1.json"]
    assert published_for(tmp_path, "2026-Q3") == [] and published_for(tmp_path / "absent", "2026-Q1") == []
    assert preview_file(tmp_path, "2026-Q1") == tmp_path / "2026-Q1.preview.json"
