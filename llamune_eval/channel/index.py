"""`index.json`: what a channel holds. One type builds it and its JSON schema is derived from that type.

Each entry names a published settings file by its version and says what the file must hash to and how big it is,
so a client fetches only what is newer and refuses a file that differs from what the operator published. The index
itself is not signed: every file it lists is (its own digest and Ed25519 signature), so a forged index can at
worst withhold a file, never install one.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from llamune_eval import jsonio
from llamune_eval.quarters import VERSION, version_key
from llamune_eval.types import InputError

FORMAT: Literal["llamune-channel/1"] = "llamune-channel/1"
INDEX = "index.json"
MAX_BYTES = 10 * 1024 * 1024  # no settings file or index is anywhere near this; a larger one is refused unread


class ChannelError(InputError):
    """The channel could not be read or written; the message says where and why, on one line."""


class NotFound(ChannelError):
    """The channel has no such file (HTTP 404, or no file of that name in the folder)."""


class ChannelFile(BaseModel):
    """One published settings file in the channel."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid", defer_build=True)
    file: str = Field(description="the file's name in the channel: <version>.json")
    version: str = Field(pattern=VERSION.pattern, description="YYYY-Qn, or a revision YYYY-Qn.R")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="hex sha256 of the file's bytes")
    size: int = Field(ge=1, description="the file's size in bytes (a client refuses one over 10 MB unread)")
    signed: bool = Field(description="the file carries an Ed25519 signature")
    updated_at: str = Field(alias="updatedAt", description="the settings' own updatedAt")

    @model_validator(mode="after")
    def _named_by_version(self) -> ChannelFile:
        if self.file != f"{self.version}.json":  # also keeps a name from reaching outside the folder
            raise ValueError(f"file {self.file!r} is not named after its version {self.version!r}")
        return self


class ChannelIndex(BaseModel):
    """The channel's index: every published file it holds, newest version first."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid", defer_build=True)
    format: Literal["llamune-channel/1"] = FORMAT
    updated_at: str = Field(alias="updatedAt", description="when the operator last published into the channel")
    files: list[ChannelFile] = Field(default_factory=list)

    def by_version(self) -> dict[str, ChannelFile]:
        return {f.version: f for f in self.files}

    def newest_first(self) -> list[ChannelFile]:
        return sorted(self.files, key=lambda f: version_key(f.version), reverse=True)

    def with_files(self, added: list[ChannelFile]) -> ChannelIndex:
        """This index with `added` in it (an entry of the same version replaced), stamped now."""
        merged = self.by_version() | {f.version: f for f in added}
        files = sorted(merged.values(), key=lambda f: version_key(f.version), reverse=True)
        return ChannelIndex(updated_at=now(), files=files)

    def dumps(self) -> str:
        return jsonio.dumps(self.model_dump(by_alias=True), indent=2)


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def entry_for(data: bytes, settings: dict[str, Any]) -> ChannelFile:
    """The index entry of a published settings file: its bytes and its parsed content."""
    version = str(settings.get("version"))
    return ChannelFile(
        file=f"{version}.json",
        version=version,
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        signed=isinstance(settings.get("signature"), str),
        updated_at=str(settings.get("updatedAt", "")),
    )


def parse_index(data: bytes, where: str) -> ChannelIndex:
    """An index read from a channel, or one line saying what is wrong with it."""
    try:
        raw = jsonio.loads(data)
    except (ValueError, RecursionError) as exc:
        raise ChannelError(f"{where}: not readable JSON ({str(exc).splitlines()[0][:200]})") from exc
    try:
        return ChannelIndex.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        place = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise ChannelError(f"{where}: {place}: {first['msg']}") from exc


def json_schema() -> dict[str, Any]:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "llamune channel index",
        **ChannelIndex.model_json_schema(by_alias=True),
    }


def is_version_name(name: str) -> bool:
    return name.endswith(".json") and VERSION.match(name.removesuffix(".json")) is not None
