"""Recommended settings (the quarter's decision) and the user's custom settings, as the chat runtime reads them.

Field names are the specification's (RecommendedSettings, ModelConfig, QuarterlyUpdate), camelCase on disk. A
recommended file carries a sha256 digest of its canonical JSON (sorted keys, no whitespace, without the `digest`
and `signature` fields); a file whose digest or shape does not check out is refused with the reason. Lean: pydantic
and the standard library only.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tomllib
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from llamune_eval.types import InputError

VERSION = re.compile(r"^\d{4}-Q[1-4]$")


class _Camel(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid")


class Parameters(_Camel):
    """LLMParameters: the sampling parameters a model runs with."""

    temperature: float = Field(ge=0, le=2)
    top_p: float = Field(ge=0, le=1)
    top_k: int | None = Field(default=None, ge=0)
    max_tokens: int = Field(ge=1)
    repeat_penalty: float | None = Field(default=None, ge=0)
    num_ctx: int | None = Field(default=None, ge=1)


class ModelConfig(_Camel):
    name: str
    priority: int = Field(ge=1)
    purpose: str
    parameters: Parameters
    preset: str | None = None


class Tier(_Camel):
    memory_gb: int = Field(alias="memoryGB", ge=1)
    models: list[ModelConfig]
    execution_order: list[str] = Field(alias="executionOrder")
    concurrent_limit: int = Field(alias="concurrentLimit", ge=1)


class QuarterlyUpdate(_Camel):
    new_version: str = Field(alias="newVersion")
    old_version: str | None = Field(default=None, alias="oldVersion")
    changes: list[str] = Field(default_factory=list)
    new_models: list[str] = Field(default_factory=list, alias="newModels")
    deprecated_models: list[str] = Field(default_factory=list, alias="deprecatedModels")
    performance_improvements: list[dict[str, Any]] = Field(default_factory=list, alias="performanceImprovements")


class RecommendedSettings(_Camel):
    version: str
    quarter: str
    models: list[ModelConfig]
    execution_order: list[str] = Field(alias="executionOrder")
    concurrent_limit: int = Field(alias="concurrentLimit", ge=1)
    updated_at: str = Field(alias="updatedAt")
    changelog: str
    tiers: list[Tier] = Field(default_factory=list)
    update: QuarterlyUpdate | None = None
    evidence: dict[str, Any] = Field(default_factory=dict)
    digest: str | None = None
    signature: str | None = None

    def tier_for(self, memory_gb: float) -> Tier:
        """The largest tier this machine's memory holds; the smallest one when none fits."""
        tiers = sorted(self.tiers, key=lambda t: t.memory_gb) or [
            Tier(
                memoryGB=1,
                models=self.models,
                executionOrder=self.execution_order,
                concurrentLimit=self.concurrent_limit,
            )
        ]
        fitting = [t for t in tiers if t.memory_gb <= memory_gb]
        return fitting[-1] if fitting else tiers[0]


def next_quarter(today: date | None = None) -> str:
    """The quarter the settings are for: the one after today's (month 3 prepares the next quarter)."""
    today = today or date.today()
    q = (today.month - 1) // 3 + 1
    return f"{today.year + 1}-Q1" if q == 4 else f"{today.year}-Q{q + 1}"


def previous_quarter(quarter: str) -> str:
    year, q = int(quarter[:4]), int(quarter[-1])
    return f"{year - 1}-Q4" if q == 1 else f"{year}-Q{q - 1}"


def canonical(data: dict[str, Any]) -> bytes:
    body = {k: v for k, v in data.items() if k not in ("digest", "signature")}
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def digest_of(data: dict[str, Any]) -> str:
    return "sha256:" + hashlib.sha256(canonical(data)).hexdigest()


def verify_signature(data: dict[str, Any], public_key_pem: bytes) -> bool:
    """Ed25519 signature (hex) over the canonical JSON, checked with the organisation's public key."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    key = load_pem_public_key(public_key_pem)
    if not isinstance(key, Ed25519PublicKey) or not isinstance(data.get("signature"), str):
        return False
    try:
        key.verify(bytes.fromhex(data["signature"]), canonical(data))
    except (InvalidSignature, ValueError):
        return False
    return True


def load_recommended(path: Path, public_key: Path | None = None) -> RecommendedSettings:
    """One recommended file, its digest, signature (when a public key is configured) and shape checked."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: not readable JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a JSON object")
    if data.get("digest") != digest_of(data):
        raise InputError(f"{path}: digest does not match the content (altered or truncated); refused")
    key = public_key or (Path(os.environ["LLAMUNE_PUBLIC_KEY"]) if os.environ.get("LLAMUNE_PUBLIC_KEY") else None)
    if key is not None and not verify_signature(data, key.read_bytes()):
        raise InputError(f"{path}: signature missing or not valid for {key}; refused")
    try:
        settings = RecommendedSettings.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InputError(f"{path}: {'.'.join(str(p) for p in first['loc'])}: {first['msg']}; refused") from exc
    if not VERSION.match(settings.version):
        raise InputError(f"{path}: version {settings.version!r} is not YYYY-Qn; refused")
    return settings


def newest_recommended(folder: Path) -> tuple[RecommendedSettings | None, list[str]]:
    """The newest valid recommended file in `folder`, and why newer ones were refused."""
    refused: list[str] = []
    for path in sorted(folder.glob("*.json"), reverse=True):
        if not VERSION.match(path.stem):
            continue  # schema.json and other files
        try:
            return load_recommended(path), refused
        except InputError as exc:
            refused.append(str(exc))
    return None, refused


def default_custom_path() -> Path:
    env = os.environ.get("LLAMUNE_SETTINGS")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "llamune" / "settings.toml"


class CustomSettings(_Camel):
    """The user's own choice (settings.toml); `based_on` is the recommended version it started from."""

    based_on: str | None = Field(default=None, alias="basedOn")
    models: list[ModelConfig]
    execution_order: list[str] = Field(default_factory=list, alias="executionOrder")
    concurrent_limit: int = Field(default=1, alias="concurrentLimit", ge=1)


def load_custom(path: Path) -> CustomSettings | None:
    if not path.is_file():
        return None
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        return CustomSettings.model_validate(data)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: {exc}") from exc
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InputError(f"{path}: {'.'.join(str(p) for p in first['loc'])}: {first['msg']}") from exc


def machine_memory_gb() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / (1024 * 1024)
    except OSError:
        pass
    return float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")) / 1024**3


class Active(BaseModel):
    """The settings in force, and why: what /settings shows."""

    source: str  # "custom" or "recommended"
    version: str | None
    models: list[ModelConfig]
    execution_order: list[str]
    concurrent_limit: int
    reason: str
    newer: QuarterlyUpdate | None = None  # a newer recommendation than the custom settings were based on
    refused: list[str] = Field(default_factory=list)


def resolve(
    recommended_dir: Path, custom_path: Path | None = None, memory_gb: float | None = None, *, use_custom: bool = True
) -> Active:
    """Custom settings beat recommended ones; the recommended tier follows this machine's memory."""
    memory = machine_memory_gb() if memory_gb is None else memory_gb
    recommended, refused = newest_recommended(recommended_dir) if recommended_dir.is_dir() else (None, [])
    custom = load_custom(custom_path or default_custom_path()) if use_custom else None
    if custom is not None:
        newer = None
        if recommended is not None and (custom.based_on or "") < recommended.version:
            newer = recommended.update or QuarterlyUpdate(newVersion=recommended.version, oldVersion=custom.based_on)
        order = custom.execution_order or [m.name for m in sorted(custom.models, key=lambda m: m.priority)]
        return Active(source="custom", version=custom.based_on, models=custom.models, execution_order=order,
                      concurrent_limit=custom.concurrent_limit, reason="your custom settings take precedence",
                      newer=newer, refused=refused)  # fmt: skip
    if recommended is None:
        raise InputError(
            f"no usable recommended settings in {recommended_dir}" + (f" ({refused[0]})" if refused else "")
        )
    tier = recommended.tier_for(memory)
    return Active(source="recommended", version=recommended.version, models=tier.models,
                  execution_order=tier.execution_order, concurrent_limit=tier.concurrent_limit,
                  reason=f"recommended {recommended.version}, tier {tier.memory_gb} GB for this machine's "
                         f"{memory:.0f} GB", refused=refused)  # fmt: skip
