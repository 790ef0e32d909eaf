"""Speed that compares configurations fairly: each configuration's timed probes (the measure stage), medians.

The sweep's own timings depend on run order (the first configuration of a model pays the engine's cold caches,
later ones are served from its prompt cache) and on what else the engine was answering; the probes are timed one
request at a time, configurations taken in turn, every prompt made new so no engine answers from its cache.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass

from llamune_eval.types import Timing


@dataclass(frozen=True)
class Speed:
    """A configuration's timed probes: median time to first token and decode speed."""

    ttft_s: float | None
    tokens_per_s: float | None
    probes: int
    errors: int = 0

    def latency(self, completion_tokens: float | None) -> float | None:
        """An answer of `completion_tokens` tokens at this speed: TTFT plus the tokens after the first."""
        if self.ttft_s is None or not self.tokens_per_s or completion_tokens is None:
            return None
        return self.ttft_s + max(0.0, completion_tokens - 1) / self.tokens_per_s


def median(values: Iterable[float | None]) -> float | None:
    got = [v for v in values if v is not None and v > 0]
    return statistics.median(got) if got else None


def speed_of(rows: Iterable[Timing]) -> Speed:
    rows = list(rows)
    ok = [t for t in rows if t.ok]
    return Speed(median(t.ttft_s for t in ok), median(t.tokens_per_s for t in ok), len(ok), len(rows) - len(ok))


def speeds(timings: Iterable[Timing]) -> dict[tuple[str, str], Speed]:
    """(model, preset) -> its speed from the measure stage's probes (purpose `speed`)."""
    by: dict[tuple[str, str], list[Timing]] = {}
    for t in timings:
        if t.purpose == "speed":
            by.setdefault((t.model, t.preset), []).append(t)
    return {key: speed_of(rows) for key, rows in by.items()}
