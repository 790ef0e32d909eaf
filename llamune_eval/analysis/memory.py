"""How much memory a configuration needs, and where the figure came from.

Measured beats estimated: the figure an engine gave at the configuration's context (`measured-rss` from the
embedded child, `ollama-ps` from Ollama) when the quarter measured one; else an estimate from the GGUF file's header
(`gguf-estimate`: weights + the KV cache, 2 x n_layer x num_ctx x n_head_kv x head size x bytes per element of the
cache type, + the runtime's own memory); else the model's size times `[recommend] size_factor` (`size-estimate`).
The decision's tier fit, the race's and the report's memory all call `footprint`; whether a need fits a tier is
`fits`, the one rule the race's groups, the decision's candidates, the report and the CLI call.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from llamune_eval.engines.gguf import GGUFError, GGUFInfo, read_info
from llamune_eval.types import Footprint, ModelInfo, SamplingParams, parse_parameter_size

if TYPE_CHECKING:
    from llamune_eval.config import Config

DEFAULT_CTX = 4096
# llama.cpp's own memory beside weights and cache: its code, the vocabulary, the compute and output buffers.
# Measured on the embedded engine (peak RSS minus weights and KV cache): 80 MiB (SmolLM2 135M) to 150 MiB (Qwen2.5
# 0.5B) with one slot; the README's table shows the figures.
RUNTIME_BYTES = 128 * 2**20
# bytes per cached element by llama.cpp cache type (a q8_0 block holds 32 values in 34 bytes)
CACHE_TYPES = {"f32": 4.0, "f16": 2.0, "bf16": 2.0, "q8_0": 34 / 32, "q5_1": 24 / 32, "q5_0": 22 / 32,
               "q4_1": 20 / 32, "q4_0": 18 / 32, "iq4_nl": 18 / 32}  # fmt: skip
MEASURED = ("measured-rss", "ollama-ps")
GIB = 1024**3


def tier_budget(tier_gb: int, headroom: float) -> int:
    """The bytes a tier's models may hold together: its memory times `[recommend] headroom` (the rest is the
    system's and the user's other programs')."""
    return int(tier_gb * headroom * GIB)


def fits(need: int | None, tier_gb: int, headroom: float) -> bool:
    """Whether a configuration needing `need` bytes may run on the tier. An unknown need fits no tier: a model that
    might not fit a user's machine is never recommended for it, and the race, which serves that decision, groups
    exactly as the decision does."""
    return need is not None and need <= tier_budget(tier_gb, headroom)


def context_of(params: SamplingParams | None) -> int:
    """The context a configuration runs with: its preset's `num_ctx`, else the engines' usual default."""
    return (params.num_ctx if params else None) or DEFAULT_CTX


def parameter_count(facts: ModelInfo | None) -> int | None:
    """The exact count when an engine gave one, else the rounded size it names ('7.6B', '494M')."""
    if facts is None:
        return None
    return facts.parameter_count or parse_parameter_size(facts.parameter_size)


def kv_cache_bytes(info: GGUFInfo, num_ctx: int, cache_type: str = "f16", slots: int = 1) -> int | None:
    """Keys and values of every layer for `num_ctx` tokens per slot (None: the header lacks the cache's shape)."""
    if not (info.block_count and info.head_count_kv and info.key_length and info.value_length):
        return None
    per_token = info.block_count * info.head_count_kv * (info.key_length + info.value_length)
    return int(per_token * num_ctx * slots * CACHE_TYPES.get(cache_type, 2.0))


def gguf_estimate(model: str, path: Path, num_ctx: int, cache_type: str = "f16") -> Footprint | None:
    """Weights (the file) + KV cache + the runtime's own memory, from the file's header; None if unreadable."""
    try:
        info = read_info(path)
    except (OSError, GGUFError):
        return None
    cache = kv_cache_bytes(info, num_ctx, cache_type)
    if cache is None:
        return None
    detail = (
        f"重み {info.size_bytes / 2**20:.0f} MiB + KV キャッシュ {cache / 2**20:.0f} MiB（{info.block_count} 層 × "
        f"{num_ctx} トークン × KV ヘッド {info.head_count_kv} × {info.key_length}+{info.value_length} × {cache_type}）"
        f" + 実行時 {RUNTIME_BYTES // 2**20} MiB"
    )
    return Footprint(
        model=model, num_ctx=num_ctx, bytes=info.size_bytes + cache + RUNTIME_BYTES, source="gguf-estimate",
        detail=detail,
    )  # fmt: skip


def size_estimate(model: str, size: int, num_ctx: int, factor: float) -> Footprint:
    return Footprint(
        model=model, num_ctx=num_ctx, bytes=int(size * factor), source="size-estimate",
        detail=f"ファイルサイズ × {factor:g}（キャッシュの形が分からないときの概算）",
    )  # fmt: skip


def footprint(
    model: str,
    num_ctx: int,
    measured: Iterable[Footprint],
    *,
    path: Path | None,
    size: int | None,
    cache_type: str,
    size_factor: float,
) -> Footprint | None:
    """The best figure for `model` at `num_ctx`: measured at that context, else estimated; None when nothing is
    known of it (no measurement, no readable file, no size)."""
    for fp in measured:
        if fp.model == model and fp.num_ctx == num_ctx and fp.source in MEASURED:
            return fp
    if path is not None:
        estimate = gguf_estimate(model, path, num_ctx, cache_type)
        if estimate is not None:
            return estimate
    return size_estimate(model, size, num_ctx, size_factor) if size else None


@dataclass
class Memory:
    """What is known of the quarter's models: the stored measurements, the readable files and the sizes."""

    measured: list[Footprint] = field(default_factory=list)
    files: dict[str, Path] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)
    cache_type: str = "f16"
    size_factor: float = 1.2

    def knows(self, model: str) -> bool:
        """Whether anything gives the model's memory: a measurement, a readable GGUF file or a size."""
        return model in self.sizes or model in self.files or any(f.model == model for f in self.measured)

    def of(self, model: str, num_ctx: int) -> Footprint | None:
        return footprint(
            model,
            num_ctx,
            self.measured,
            path=self.files.get(model),
            size=self.sizes.get(model),
            cache_type=self.cache_type,
            size_factor=self.size_factor,
        )

    @classmethod
    def of_config(cls, cfg: Config, facts: Mapping[str, ModelInfo], measured: Iterable[Footprint] = ()) -> Memory:
        """From `llamune.toml` (files, configured sizes, the cache type), the facts the runs and engines recorded
        (sizes) and the quarter's measurements."""
        from llamune_eval.engines import model_files

        sizes = {m: f.size_bytes for m, f in facts.items() if f.size_bytes}
        rule = cfg.recommend
        return cls(list(measured), model_files(cfg), rule.model_sizes | sizes, rule.kv_cache_type, rule.size_factor)
