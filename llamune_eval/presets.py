"""Sampling presets as data: the specification's balanced / creative / fast and code / general / creative.

Each is a full parameter set. The specification gives temperature, top_p and max_tokens for code, general and
creative; the other values (and balanced and fast entirely) are our choices, documented in the README. Custom
presets come from `[presets.NAME]` in llamune.toml, optionally on top of a built-in one (`base = "balanced"`).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from llamune_eval.types import InputError, SamplingParams


class Preset(BaseModel):
    name: str
    description: str
    params: SamplingParams


def _p(name: str, description: str, **params: Any) -> Preset:
    return Preset(name=name, description=description, params=SamplingParams(**params))


BUILTIN: dict[str, Preset] = {
    p.name: p
    for p in (
        _p("balanced", "バランス：標準的な設定", temperature=0.7, top_p=0.9, top_k=40, max_tokens=1024,
           repeat_penalty=1.1, num_ctx=4096),
        _p("creative", "創作：創造的で多様な表現", temperature=1.2, top_p=0.95, top_k=80, max_tokens=2000,
           repeat_penalty=1.05, num_ctx=4096),
        _p("fast", "高速：短く決定的な回答", temperature=0.0, top_p=1.0, top_k=1, max_tokens=256,
           repeat_penalty=1.0, num_ctx=2048),
        _p("code", "コード生成：正確で一貫したコード", temperature=0.2, top_p=0.9, top_k=40, max_tokens=1000,
           repeat_penalty=1.05, num_ctx=4096),
        _p("general", "一般：バランスの取れた回答", temperature=0.7, top_p=0.9, top_k=40, max_tokens=500,
           repeat_penalty=1.1, num_ctx=4096),
    )
}  # fmt: skip


class PresetError(InputError):
    pass


def catalogue(custom: dict[str, dict[str, Any]] | None = None) -> dict[str, Preset]:
    """Built-in presets plus the config's custom ones (a custom preset may replace a built-in one)."""
    out = dict(BUILTIN)
    for name, raw in (custom or {}).items():
        fields = dict(raw)
        base_name = fields.pop("base", None)
        description = str(fields.pop("description", f"custom preset {name}"))
        if base_name is not None and base_name not in out:
            raise PresetError(f"presets.{name}.base: unknown preset {base_name!r}")
        base = out[base_name].params.model_dump() if base_name else {}
        try:
            params = SamplingParams(**(base | fields))
        except ValidationError as exc:
            first = exc.errors()[0]
            key = ".".join(str(x) for x in first["loc"])
            raise PresetError(f"presets.{name}.{key}: {first['msg']}") from exc
        # a full set leaves nothing to the engine's defaults (None); only the seed may stay unset
        missing = [k for k, v in params if v is None and k != "seed"]
        if missing:
            raise PresetError(
                f"presets.{name}: a preset is a full parameter set; missing {', '.join(missing)} "
                f'(or set base = "balanced")'
            )
        out[name] = Preset(name=name, description=description, params=params)
    return out
