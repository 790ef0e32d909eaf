"""The evaluation side's record contract: what the store keeps, typed once, as `types.py` is the engine's.

A sample, a judge's verdict, a usage event and a suite's facts are built as these models and written by their
fields; the store's tables (`store/schema.py`, which keeps each table's migration history) have the same columns
in the same order, and `tests/store/test_records.py` fails when a model and its table differ. The models forbid
unknown fields, so a misspelt name fails where the record is built instead of becoming NULL in the store.

JSON columns are carried as JSON text (`str`), as DuckDB returns them. A sample's and a judgement's times are naive
UTC; a usage event's is the time the chat wrote (ISO 8601 with its offset).
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field

# /rate's criteria, 1-5 each, with the chat's labels (回答の正確性, 日本語の自然さ, 有用性): one column each on
# `UsageEvent`, in the chat's SQLite and in the store
RATING_CRITERIA: dict[str, str] = {"accuracy": "回答の正確性", "naturalness": "日本語の自然さ", "usefulness": "有用性"}


class Record(BaseModel):
    """A stored row: frozen, and an unknown field name is an error."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)  # built at first use: the chat's start


R = TypeVar("R", bound=Record)


def fields(record: type[Record]) -> tuple[str, ...]:
    """The record's fields in order: its table's columns."""
    return tuple(record.model_fields)


def evolve(record: R, **changes: object) -> R:
    """A copy of `record` with `changes`, validated as a new one (`model_copy` would take a misspelt name)."""
    return type(record).model_validate(record.model_dump() | changes)


class Sample(Record):
    """One answered (or failed) sample of a run: the `samples` table. Written by `runner.execute.run_unit`."""

    key: str
    run_id: str | None
    suite: str
    suite_version: str | None
    template_version: str | None
    kind: str
    category: str | None
    item_id: str
    model: str
    model_digest: str | None
    engine: str | None
    endpoint: str | None = None
    preset: str
    params: str | None  # JSON: the parameters sent
    repeat: int
    seed: int | None = None
    prompt: str | None  # JSON: the item's turns as sent
    output: str | None = None  # JSON: the answer per turn
    finish_reason: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    ttft_s: float | None = None
    latency_s: float | None = None
    tokens_per_s: float | None = None
    attempts: int | None = None
    status: str  # ok or error
    error_kind: str | None = None
    error: str | None = None
    unsupported: str | None = None  # JSON: parameters the server could not honour
    parsed: str | None = None
    parse_ok: bool | None = None
    pending_judge: bool | None = None
    created_at: datetime | None
    reference: str | None = None  # JSON
    eval_aspect: str | None = None
    preset_params: str | None = None  # JSON: the configuration's own parameters
    scoring_version: str | None = None
    thinking: str | None = None  # JSON: a reasoning model's thinking per turn
    item_category: str | None = None
    queue_s: float | None = None
    load_s: float | None = None


class Judgement(Record):
    """One verdict of one judge model (or its failed request): the `judgements` table. Planned and completed by
    `runner.judging`; read back by `Store.judgements()` for the reliability figures and the report."""

    key: str
    run_id: str | None = None
    mode: str  # single, reference or pairwise
    suite: str
    item_id: str
    repeat: int
    sample_key: str
    sample_key_b: str | None = None
    model: str
    preset: str
    model_b: str | None = None
    preset_b: str | None = None
    position: str | None = None  # pairwise: ab or ba; "" otherwise
    judge_model: str
    judge_digest: str | None = None
    judge_family: str | None = None
    model_family: str | None = None
    template_version: str | None = None
    scale: int | None = None
    trial: int
    raw: str | None = None
    ok: bool | None = None
    overall: float | None = None
    criteria: str | None = None  # JSON: criterion -> score
    winner: str | None = None  # pairwise: first, second or tie, by configuration
    answer_chars: int | None = None
    latency_s: float | None = None
    error_kind: str | None = None
    error: str | None = None
    created_at: datetime | None = None
    turn: int | None = None
    temperature: float | None = None


class UsageEvent(Record):
    """One answer (or rating, /retry decision) of the chat: the chat's SQLite `usage_events` rows (`CHAT_FIELDS`,
    written by `chat.db.ChatDB`) and the store's `usage_events` table (all fields, written by `usage ingest`)."""

    event_id: str
    source: str | None = None  # store: the database or file it was ingested from
    session_id: str | None = None
    message_id: int | None = None
    turn: int | None = None  # store: the turn of its message (the chat keeps it on the message)
    kind: str  # main, background, retry, eval
    model: str | None = None
    preset: str | None = None
    params: str | None = None  # JSON
    ttft_s: float | None = None
    latency_s: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    success: bool | None = None
    error_kind: str | None = None
    adopted: bool | None = None
    rating: int | None = None  # /good +1, /bad -1
    comment: str | None = None
    category: str | None = None
    created_at: datetime
    accuracy: int | None = None  # RATING_CRITERIA, 1-5 each
    naturalness: int | None = None
    usefulness: int | None = None
    user: str | None = None  # store: a usage drop's pseudonym
    tier: int | None = None  # store: the user's machine's memory tier (GB)
    client: str | None = None  # store: the chat version that sent a drop


STORE_ONLY = ("source", "turn", "user", "tier", "client")  # UsageEvent fields the chat's database has no column for
CHAT_FIELDS = tuple(f for f in UsageEvent.model_fields if f not in STORE_ONLY)  # its usage_events columns, in order


class HumanRating(Record):
    """One person's rating of one stored answer: the `human_ratings` table. Written by `llamune-eval rate` (and
    its imports); read by `analysis.judge_check` to check the judge against people. A rater rates an answer once:
    rating it again replaces the rating."""

    key: str  # rating_key(rater, sample_key)
    sample_key: str
    suite: str
    item_id: str
    rater: str
    accuracy: int | None = Field(default=None, ge=1, le=5)  # RATING_CRITERIA, 1-5 each; None: skipped
    naturalness: int | None = Field(default=None, ge=1, le=5)
    usefulness: int | None = Field(default=None, ge=1, le=5)
    score: int | None = Field(default=None, ge=1)  # on the suite's own scale, the judge's; None: skipped
    scale: int | None = Field(default=None, ge=2)  # 5 or 10
    shared: bool = False  # shown to every rater (the overlap), for the raters' own agreement
    source: str = "terminal"  # terminal, or the file it was imported from
    created_at: datetime


def rating_key(rater: str, sample_key: str) -> str:
    """The key of a rater's rating of an answer: one per rater and answer."""
    return hashlib.sha256(f"{rater}\0{sample_key}".encode()).hexdigest()[:32]


class SuiteFacts(Record):
    """A suite as a run recorded it (the run's `suites` JSON): version, template, items and where its data came
    from (`data`: origin real, sample, in-house or custom, with the dataset's name, digest and licence)."""

    model_config = ConfigDict(extra="ignore")  # read back from older runs' JSON as well
    name: str
    version: str | None = None
    template: str | None = None
    digest: str | None = None
    source: str | None = None
    items: int | None = None
    data: dict[str, str] = Field(default_factory=dict)  # empty for runs from before this record
