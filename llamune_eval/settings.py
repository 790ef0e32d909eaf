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
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from llamune_eval import jsonio
from llamune_eval.quarters import VERSION, is_newer, quarter_of, version_key
from llamune_eval.settings_evidence import EvidenceShape
from llamune_eval.types import InputError, SamplingParams

RUN_ONLY = ("seed", "stop")  # a run's request fields, never a configuration's: no settings file carries them
PARAMETER_FIELDS = tuple(f for f in SamplingParams.model_fields if f not in RUN_ONLY)  # the specification's names


class _Camel(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid", defer_build=True)


class LLMParameters(SamplingParams):
    """The specification's LLMParameters: the engine's `SamplingParams` itself (so the chat runtime sends it as it
    is), with temperature and top_p required as the specification has them."""

    temperature: float = Field(ge=0.0, le=2.0)
    top_p: float = Field(ge=0.0, le=1.0)

    @classmethod
    def of(cls, params: SamplingParams) -> LLMParameters:
        """A configuration's parameters as a settings file carries them (no seed, no stop sequences; the unset ones
        left unset, so a dump with `exclude_unset` writes what `view` shows)."""
        return cls.model_validate(params.model_dump(include=set(PARAMETER_FIELDS), exclude_none=True))

    def view(self) -> dict[str, Any]:
        """The fields a settings file writes: the specification's names, unset ones left out."""
        return self.model_dump(include=set(PARAMETER_FIELDS), exclude_none=True)


class ModelConfig(_Camel):
    name: str
    priority: int = Field(ge=1)
    purpose: str
    parameters: LLMParameters
    preset: str | None = None


class Tier(_Camel):
    memory_gb: int = Field(alias="memoryGB", ge=1)
    models: list[ModelConfig]
    execution_order: list[str] = Field(alias="executionOrder")
    concurrent_limit: int = Field(alias="concurrentLimit", ge=1)


class PerformanceChange(_Camel):
    """One measured change of a tier's main configuration: quality in points on 0..1, speed as the relative change
    of latency (negative: faster), with its interval at 1 - alpha and whether it is significant (p < alpha)."""

    tier: int
    metric: str  # quality | latency
    before: str
    after: str
    before_value: float | None = Field(default=None, alias="beforeValue")
    after_value: float | None = Field(default=None, alias="afterValue")
    change: float | None = None
    low: float | None = None
    high: float | None = None
    significant: bool | None = None
    basis: str
    description: str


class QuarterlyUpdate(_Camel):
    new_version: str = Field(alias="newVersion")
    old_version: str | None = Field(default=None, alias="oldVersion")
    changes: list[str] = Field(default_factory=list)
    new_models: list[str] = Field(default_factory=list, alias="newModels")
    deprecated_models: list[str] = Field(default_factory=list, alias="deprecatedModels")
    performance_improvements: str = Field(default="", alias="performanceImprovements")
    performance_details: list[PerformanceChange] = Field(default_factory=list, alias="performanceDetails")

    @field_validator("performance_improvements", mode="before")
    @classmethod
    def _legacy_list(cls, value: Any) -> Any:
        """Files written before the specification's string shape carried a list of {description}."""
        if isinstance(value, list):
            return "、".join(str(v.get("description", v)) if isinstance(v, dict) else str(v) for v in value)
        return value


class RecommendedSettings(_Camel):
    version: str
    quarter: str
    preview: bool = False  # a preview is never applied: too little evidence, or asked for with --preview
    models: list[ModelConfig]
    execution_order: list[str] = Field(alias="executionOrder")
    concurrent_limit: int = Field(alias="concurrentLimit", ge=1)
    updated_at: str = Field(alias="updatedAt")
    changelog: str
    tiers: list[Tier] = Field(default_factory=list)
    update: QuarterlyUpdate | None = None
    # what the decision rested on: typed as this release writes it; an older release's evidence (another shape)
    # stays as written, which the chat never reads and the report reads leniently
    evidence: EvidenceShape | dict[str, Any] = Field(default_factory=dict, union_mode="left_to_right")
    digest: str | None = None
    signature: str | None = None

    def tier_for(self, memory_gb: float) -> Tier:
        """The tier this machine's memory falls in (`tier_of`)."""
        whole = Tier(
            memory_gb=1,
            models=self.models,
            execution_order=self.execution_order,
            concurrent_limit=self.concurrent_limit,
        )
        tiers = {t.memory_gb: t for t in self.tiers} or {1: whole}
        return tiers[tier_of(memory_gb, tiers)]


DEFAULT_TIERS = (16, 32, 64)  # GB: the specification's machines, and `[recommend] tiers`' default


def tier_of(memory_gb: float, tiers: Iterable[int] = DEFAULT_TIERS) -> int:
    """The tier a machine with `memory_gb` belongs to: the largest one its memory holds, the smallest when none."""
    ordered = sorted(tiers)
    fitting = [t for t in ordered if t <= memory_gb]
    return fitting[-1] if fitting else ordered[0]


def _field_path(loc: tuple[int | str, ...]) -> str:
    """Where a validation error is, on one line: a key holding a line break or control character is quoted."""
    return ".".join(str(p) if str(p).isprintable() else repr(p) for p in loc)


def canonical(data: dict[str, Any]) -> bytes:
    """What the digest and the signature cover: everything but themselves, keys sorted, no whitespace, UTF-8,
    RFC 8259 only (a NaN would make the file unreadable for strict parsers, so it cannot be sealed)."""
    body = {k: v for k, v in data.items() if k not in ("digest", "signature")}
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def digest_of(data: dict[str, Any]) -> str:
    return "sha256:" + hashlib.sha256(canonical(data)).hexdigest()


def _public_key(path: Path) -> bytes:
    """The organisation's public key file (LLAMUNE_PUBLIC_KEY), or one clear line saying what is wrong with it."""
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    try:
        pem = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read the public key ({exc.strerror or exc})") from exc
    try:
        load_pem_public_key(pem)
    except (ValueError, TypeError) as exc:
        raise InputError(f"{path}: not a PEM public key (LLAMUNE_PUBLIC_KEY)") from exc
    return pem


def load_signing_key(path: Path) -> Any:
    """The operator's Ed25519 private key (PEM, `[recommend] signing_key`), or one line saying what is wrong."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        key = load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise InputError(f"{path}: not a readable PEM private key ({exc})") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise InputError(f"{path}: not an Ed25519 private key")
    return key


def verify_signature(data: dict[str, Any], public_key_pem: bytes) -> bool:
    """Ed25519 signature (hex) over the canonical JSON, checked with the organisation's public key."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    try:
        key = load_pem_public_key(public_key_pem)
    except (ValueError, TypeError):  # not a PEM public key at all
        return False
    if not isinstance(key, Ed25519PublicKey) or not isinstance(data.get("signature"), str):
        return False
    try:
        key.verify(bytes.fromhex(data["signature"]), canonical(data))
    except (InvalidSignature, ValueError):
        return False
    return True


def load_recommended(path: Path, public_key: Path | None = None, *, allow_preview: bool = False) -> RecommendedSettings:
    """One recommended file, its digest, signature (when a public key is configured) and shape checked; a preview
    is refused unless `allow_preview` (the report shows one; the chat runtime never applies one)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: not readable JSON ({exc})") from exc
    return check_recommended(raw, str(path), public_key, allow_preview=allow_preview)


def check_recommended(
    raw: bytes, where: str, public_key: Path | None = None, *, allow_preview: bool = False
) -> RecommendedSettings:
    """A recommended file's bytes checked as `load_recommended` checks a file (`where` names it in messages): what
    a channel's download must pass before it is installed."""
    try:
        data = jsonio.loads(raw)
        # a number past a float's range (1e400) parses as infinity, which no digest covers
        sealed = digest_of(data) if isinstance(data, dict) else None
    except (ValueError, RecursionError) as exc:  # RecursionError: nested deeper than a parser goes
        raise InputError(f"{where}: not readable JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise InputError(f"{where}: expected a JSON object")
    if data.get("digest") != sealed:
        raise InputError(f"{where}: digest does not match the content (altered or truncated); refused")
    key = public_key or (Path(os.environ["LLAMUNE_PUBLIC_KEY"]) if os.environ.get("LLAMUNE_PUBLIC_KEY") else None)
    if key is not None and not verify_signature(data, _public_key(key)):
        raise InputError(f"{where}: signature missing or not valid for {key}; refused")
    try:
        settings = RecommendedSettings.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InputError(f"{where}: {_field_path(first['loc'])}: {first['msg']}; refused") from exc
    if not VERSION.match(settings.version):
        raise InputError(f"{where}: version {settings.version!r} is not YYYY-Qn (or YYYY-Qn.R); refused")
    if settings.preview and not allow_preview:
        raise InputError(
            f"{where}: a preview ({settings.changelog.splitlines()[0] if settings.changelog else ''}); never applied"
        )
    return settings


def published_files(folder: Path) -> list[Path]:
    """The folder's published settings files (previews and schema.json left out), newest version first."""
    found = [p for p in folder.glob("*.json") if VERSION.match(p.stem)]
    return sorted(found, key=lambda p: version_key(p.stem), reverse=True)


def published_for(folder: Path, quarter: str) -> list[Path]:
    """This quarter's published files, newest revision first (no folder: none)."""
    return [p for p in published_files(folder) if quarter_of(p.stem) == quarter]


def preview_file(folder: Path, quarter: str) -> Path:
    """Where the quarter's preview is written: beside the published files, never among them (`published_files`)."""
    return folder / f"{quarter}.preview.json"


def newest_recommended(folder: Path, public_key: Path | None = None) -> tuple[RecommendedSettings | None, list[str]]:
    """The newest valid recommended file in `folder` (signed by `public_key`'s owner when one is given), and why
    newer ones were refused."""
    refused: list[str] = []
    for path in published_files(folder):
        try:
            return load_recommended(path, public_key), refused
        except InputError as exc:
            refused.append(str(exc))
    return None, refused


def default_custom_path() -> Path:
    env = os.environ.get("LLAMUNE_SETTINGS")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "llamune" / "settings.toml"


def user_data_dir() -> Path:
    """This user's own llamune folder ($XDG_DATA_HOME/llamune, i.e. ~/.local/share/llamune)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "llamune"


def default_chat_db() -> Path:
    """Where `llamune` keeps its sessions and usage ($LLAMUNE_CHAT_DB, else under $XDG_DATA_HOME): the quarter's
    run ingests this machine's own usage from here."""
    env = os.environ.get("LLAMUNE_CHAT_DB")
    if env:
        return Path(env).expanduser()
    return user_data_dir() / "chat.sqlite"


def local_settings_dir() -> Path:
    """Where the settings a channel delivered are installed, for this user only."""
    return user_data_dir() / "recommended"


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
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 ({exc.reason} at byte {exc.start})") from exc
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InputError(f"{path}: {_field_path(first['loc'])}: {first['msg']}") from exc


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

    # custom: the user's own file; recommended: the quarter's signed file; installed: neither is usable, so the
    # models the engine lists, in its order (the chat still starts)
    source: Literal["custom", "recommended", "installed"]
    version: str | None
    models: list[ModelConfig]
    execution_order: list[str]
    concurrent_limit: int
    reason: str
    newer: QuarterlyUpdate | None = None  # a newer recommendation than the custom settings were based on
    update: QuarterlyUpdate | None = None  # what the recommendation in force changed (the QuarterlyUpdate card)
    custom_path: str | None = None  # the custom settings file in force (what /settings keep writes to)
    refused: list[str] = Field(default_factory=list)
    tier: int | None = None  # the recommended tier in force (GB), when the file has tiers


def load_active(
    recommended_dir: Path,
    custom_path: Path | None = None,
    memory_gb: float | None = None,
    *,
    use_custom: bool = True,
    public_key: Path | None = None,
) -> Active:
    """Custom settings beat recommended ones; the recommended tier follows this machine's memory."""
    memory = machine_memory_gb() if memory_gb is None else memory_gb
    found = newest_recommended(recommended_dir, public_key) if recommended_dir.is_dir() else (None, [])
    recommended, refused = found
    custom_file = custom_path or default_custom_path()
    custom = None
    if use_custom:
        try:
            custom = load_custom(custom_file)
        except InputError as exc:  # a broken custom file is reported, and the recommendation still applies
            if recommended is None:
                raise
            refused = [*refused, f"custom settings not used: {exc}"]
    if custom is not None:
        newer = None
        if recommended is not None and is_newer(recommended.version, custom.based_on):
            newer = recommended.update or QuarterlyUpdate(new_version=recommended.version, old_version=custom.based_on)
        order = custom.execution_order or [m.name for m in sorted(custom.models, key=lambda m: m.priority)]
        return Active(
            source="custom",
            version=custom.based_on,
            models=custom.models,
            execution_order=order,
            concurrent_limit=custom.concurrent_limit,
            reason="your custom settings take precedence",
            newer=newer,
            refused=refused,
            custom_path=str(custom_file),
        )
    if recommended is None:
        raise InputError(
            f"no usable recommended settings in {recommended_dir}" + (f" ({refused[0]})" if refused else "")
        )
    tier = recommended.tier_for(memory)
    update = recommended.update or QuarterlyUpdate(new_version=recommended.version)
    return Active(
        source="recommended",
        version=recommended.version,
        tier=tier.memory_gb if recommended.tiers else None,
        models=tier.models,
        update=update,
        execution_order=tier.execution_order,
        concurrent_limit=tier.concurrent_limit,
        reason=f"recommended {recommended.version}, tier {tier.memory_gb} GB for this machine's {memory:.0f} GB",
        refused=refused,
    )
