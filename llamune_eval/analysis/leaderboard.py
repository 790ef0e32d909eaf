"""The leaderboard per suite x model x preset, from the evidence: headline with its 95% interval, n, error and
parse-failure rates, answers waiting for the judge, median tokens/s. Missing figures are None with a note."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from llamune_eval.analysis.evidence import Evidence
from llamune_eval.analysis.memory import Memory, context_of


@dataclass
class LeaderboardRow:
    suite: str
    model: str
    preset: str
    metric: str
    value: float | None
    ci_low: float | None
    ci_high: float | None
    n: int
    errors: int
    error_rate: float
    parse_fail_rate: float
    pending_judge: int
    median_tokens_per_s: float | None
    suite_version: str
    template_version: str
    others: dict[str, float | None] = field(default_factory=dict)
    note: str | None = None
    lenient: float | None = None  # the headline under the lenient profile (value is strict)
    lenient_parse_fail_rate: float = 0.0
    # the configuration's speed (speed_source "probe": the measure stage's fair figures, else the sweep's medians)
    # and its memory at the preset's context with where the figure came from (None: not asked for)
    ttft_s: float | None = None
    tokens_per_s: float | None = None
    latency_s: float | None = None
    speed_source: str = "sweep"
    memory_bytes: int | None = None
    memory_source: str | None = None

    @property
    def gap(self) -> float | None:
        """strict minus lenient: what following the answer format costs."""
        return None if self.value is None or self.lenient is None else self.value - self.lenient


def leaderboard(
    ev: Evidence,
    *,
    suites: Sequence[str] = (),
    models: Sequence[str] = (),
    presets: Sequence[str] = (),
    memory: Memory | None = None,
) -> list[LeaderboardRow]:
    """Rows sorted by suite, model and preset; the filters keep only the named ones."""
    out = []
    for (model, preset), c in ev.configs.items():
        if (models and model not in models) or (presets and preset not in presets):
            continue
        fp = memory.of(model, context_of(c.params)) if memory is not None else None
        for s in c.suites.values():
            if suites and s.suite not in suites:
                continue
            out.append(
                LeaderboardRow(
                    suite=s.suite,
                    model=model,
                    preset=preset,
                    metric=s.metric,
                    value=s.value,
                    ci_low=s.low,
                    ci_high=s.high,
                    n=s.n,
                    errors=s.errors,
                    error_rate=s.error_rate,
                    parse_fail_rate=s.parse_fail_rate,
                    pending_judge=s.pending,
                    median_tokens_per_s=s.tokens_per_s,
                    suite_version=s.suite_version,
                    template_version=s.template_version,
                    others=s.others,
                    note=s.note,
                    lenient=s.lenient,
                    lenient_parse_fail_rate=s.lenient_parse_fail_rate,
                    ttft_s=c.ttft_s,
                    tokens_per_s=c.tokens_per_s,
                    latency_s=c.latency_s,
                    speed_source=c.speed_source,
                    memory_bytes=fp.bytes if fp else None,
                    memory_source=fp.source if fp else None,
                )
            )
    return sorted(out, key=lambda r: (r.suite, r.model, r.preset))
