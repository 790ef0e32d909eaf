"""What every suite is: items, how an item becomes chat messages, how an answer is scored and read as evidence.

A suite kind (one file per benchmark) supplies `Task`; `Suite` binds a task to its items, versions and source so
the runner and the store never need to know which benchmark they are running.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any, Protocol

from pydantic import BaseModel, Field, SkipValidation

from llamune_eval.benchmarks._rules import Headline, Observed, PairedTest
from llamune_eval.config import ALPHA
from llamune_eval.types import InputError, Message


class SuiteError(InputError):
    """A suite that cannot be loaded; the message names the file (and line) at fault."""


class Item(BaseModel):
    """One benchmark item. `turns` are the user turns as sent (templated), several for multi-turn items."""

    id: str
    turns: list[str]
    reference: Any = None
    scoring: str = "exact"
    eval_aspect: str | None = None
    meta: dict[str, Any] = Field(default_factory=dict)


class SampleScore(BaseModel):
    """The score of one answer under the strict profile (`values`: per-sample metric inputs such as correct, f1,
    pred and gold) and, for benchmarks that have one, the lenient profile beside it (README: "Scoring profiles")."""

    values: dict[str, float] = Field(default_factory=dict)
    parsed: str | None = None
    parse_ok: bool = True
    pending_judge: bool = False
    lenient: dict[str, float] | None = None  # None: the benchmark scores one way only
    lenient_ok: bool = True

    def stored(self) -> dict[str, float]:
        """The values as the store keeps them: strict ones by name, lenient ones as `lenient.<name>`."""
        if self.lenient is None:
            return dict(self.values)
        extra = {f"{LENIENT}{k}": v for k, v in self.lenient.items()}
        return self.values | extra | {f"{LENIENT}parse_ok": float(self.lenient_ok)}


LENIENT = "lenient."


class Task(Protocol):
    """A benchmark kind: how an answer is scored, and the rules that turn scored samples into evidence (per-sample
    value, right or wrong, headline with interval, 0-1 scale, paired test; see `_rules`). Prompts are rendered
    into `Item.turns` at load time."""

    metric: str  # the headline metric, e.g. "accuracy"
    value_range: tuple[float, float]  # where the headline can lie (the report draws its intervals on it)
    field: str  # the per-sample value compared between configurations, e.g. "correct"
    scoring_version: str  # changes whenever `score` does: stored answers are scored again, never re-generated

    def score(self, item: Item, outputs: Sequence[str]) -> SampleScore: ...

    def value(self, obs: Observed) -> float | None: ...

    def right(self, value: float) -> bool: ...

    def unit(self, headline: float | None) -> float | None: ...

    def unit_value(self, value: float) -> float: ...

    def metric_of(self, observed: Sequence[Observed]) -> str: ...

    def headline(self, observed: Sequence[Observed]) -> Headline: ...

    def interval(self, observed: Sequence[Observed], seed: int = 0) -> tuple[float | None, float | None]: ...

    def compare(self, a: Sequence[float], b: Sequence[float], seed: int = 0, alpha: float = ALPHA) -> PairedTest: ...

    def unit_draws(self, a: Sequence[Observed], b: Sequence[Observed], resamples: int, seed: int) -> Any: ...


class Suite(BaseModel):
    """A loaded suite. `version` is the data's, `template_version` the prompt's; both key stored samples."""

    model_config = {"arbitrary_types_allowed": True}

    name: str
    kind: str
    version: str
    template_version: str
    template: str = "llamune"  # the prompt template set (`_templates`); in-house suites are written as sent
    category: str
    source: str
    task: SkipValidation[Task]  # typed for mypy; pydantic cannot check a Protocol at run time
    items: list[Item]
    system: str | None = None
    few_shot: list[Message] = Field(default_factory=list)
    default_preset: str | None = None
    max_tokens: int | None = None  # cap on the preset's max_tokens: a label needs few tokens
    note: str = ""
    # where the items come from: origin real (a known dataset's published files: its name, the scored file's sha256,
    # licence), sample (the shipped hand-written suites), in-house (suites/*/suite.yaml) or custom (configured)
    data: dict[str, str] = Field(default_factory=lambda: {"origin": "custom"})

    @property
    def metric(self) -> str:
        return str(self.task.metric)

    def messages(self, item: Item, answers: Sequence[str] = ()) -> list[Message]:
        """The conversation for the next turn of `item`, given the model's answers to the earlier turns."""
        out: list[Message] = [Message(role="system", content=self.system)] if self.system else []
        out += self.few_shot
        for i, turn in enumerate(item.turns[: len(answers) + 1]):
            out.append(Message(role="user", content=turn))
            if i < len(answers):
                out.append(Message(role="assistant", content=answers[i]))
        return out

    def digest(self) -> str:
        """Content hash of what is sent and scored, so a silently edited suite is visible in the run record."""
        payload = json.dumps(
            [
                self.version,
                self.template_version,
                self.system,
                [m.model_dump() for m in self.few_shot],
                [i.model_dump() for i in self.items],
            ],
            ensure_ascii=False,
            sort_keys=True,
            default=str,
        )
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def limited(self, limit: int | None) -> Suite:
        return self if not limit else self.model_copy(update={"items": self.items[:limit]})
