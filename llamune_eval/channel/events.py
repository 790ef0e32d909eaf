"""The usage event as it leaves a user's machine: an allowlist, not a filter.

Only the fields of `SharedEvent` can be written into an export or a drop, and none of them can hold what was said:
no question, answer, system prompt, session title or artifact exists here, the sampling parameters are reduced to
the specification's LLMParameters names, and a comment is carried only when the organisation chose to share them
(`[chat] share_comments`). The user is a pseudonym: HMAC-SHA256 of the OS user name and the machine id, keyed by
the organisation's secret salt, so the operator can count people and sessions but not tell who they are, and no
one without the salt can link a pseudonym to a name. The store's `usage_events` table holds every field.
"""

from __future__ import annotations

import getpass
import hashlib
import hmac
import json
import os
import socket
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from llamune_eval.records import UsageEvent
from llamune_eval.settings import PARAMETER_FIELDS

MACHINE_ID_FILES = (Path("/etc/machine-id"), Path("/var/lib/dbus/machine-id"))
PSEUDONYM_HEX = 32  # 128 bits of the HMAC: no collision among any organisation's users
MAX_COMMENT = 2000  # characters of a shared comment: an event stays small enough for any drop


class SharedEvent(BaseModel):
    """One usage event, content-free: what a drop line and `llamune usage export` carry."""

    model_config = ConfigDict(extra="forbid", defer_build=True)  # built at first use, off the start-up path
    event_id: str
    user: str = Field(description="pseudonym: HMAC-SHA256(org_salt, OS user name + machine id), hex")
    tier: int = Field(description="the machine's memory tier in GB (16, 32, 64, ...)")
    client: str = Field(description="the llamune version that recorded it")
    session_id: str | None = None
    turn: int | None = None
    kind: str = Field(description="main, background, retry or eval")
    model: str | None = None
    preset: str | None = None
    params: dict[str, Any] | None = Field(default=None, description="the LLMParameters the answer was made with")
    ttft_s: float | None = None
    latency_s: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    success: bool | None = None
    error_kind: str | None = None
    adopted: bool | None = None
    rating: int | None = Field(default=None, description="+1 /good, -1 /bad")
    accuracy: int | None = Field(default=None, description="/rate: 回答の正確性, 1-5")
    naturalness: int | None = Field(default=None, description="/rate: 日本語の自然さ, 1-5")
    usefulness: int | None = Field(default=None, description="/rate: 有用性, 1-5")
    category: str | None = Field(default=None, description="the question's task category, never the question")
    comment: str | None = Field(default=None, description="only with [chat] share_comments = true")
    created_at: str

    @classmethod
    def of(cls, event: UsageEvent, *, user: str, tier: int, client: str, share_comments: bool) -> SharedEvent:
        """The shareable part of a chat database's usage event (`chat.db.usage_event`: with its message's turn)."""
        params: object = None
        if event.params is not None:
            try:
                params = json.loads(event.params)
            except ValueError:
                params = None
        kept = {k: v for k, v in params.items() if k in PARAMETER_FIELDS} if isinstance(params, dict) else None
        return cls(
            event_id=event.event_id,
            user=user,
            tier=tier,
            client=client,
            session_id=event.session_id,
            turn=event.turn,
            kind=event.kind,
            model=event.model,
            preset=event.preset,
            params=kept,
            ttft_s=event.ttft_s,
            latency_s=event.latency_s,
            prompt_tokens=event.prompt_tokens,
            completion_tokens=event.completion_tokens,
            error_kind=event.error_kind,
            rating=event.rating,
            accuracy=event.accuracy,
            naturalness=event.naturalness,
            usefulness=event.usefulness,
            category=event.category,
            comment=event.comment[:MAX_COMMENT] if share_comments and event.comment else None,
            created_at=event.created_at.isoformat(timespec="milliseconds"),  # the text the chat wrote (chat.db)
            success=event.success,
            adopted=event.adopted,
        )

    def line(self) -> str:
        """The event as one JSON line (keys in field order, no NaN)."""
        from llamune_eval import jsonio

        return jsonio.dumps(self.model_dump())

    def digest(self) -> str:
        """What was sent, to tell whether the event changed since (a later /rate, /retry or /category)."""
        return hashlib.sha256(self.line().encode()).hexdigest()


def machine_id() -> str:
    """This machine's id (systemd's /etc/machine-id), else its host name."""
    for path in MACHINE_ID_FILES:
        try:
            text = path.read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError):
            continue
        if text:
            return text
    return socket.gethostname()


def os_user() -> str:
    """The OS user name ($LOGNAME, $USER, … else the password database); a user id with no name stands for itself."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # a container's user id without a passwd entry
        return f"uid-{os.getuid()}"


def pseudonym(salt: str, user: str | None = None, machine: str | None = None) -> str:
    """The user's pseudonym: HMAC-SHA256 keyed by the organisation's salt over the OS user name and the machine id."""
    name = user if user is not None else os_user()
    message = f"{name}\x00{machine if machine is not None else machine_id()}".encode()
    return hmac.new(salt.encode(), message, hashlib.sha256).hexdigest()[:PSEUDONYM_HEX]


def json_schema() -> dict[str, Any]:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "llamune shared usage event (one line of a drop)",
        **SharedEvent.model_json_schema(),
    }
