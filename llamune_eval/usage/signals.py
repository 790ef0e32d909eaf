"""Usage as evidence for the quarter's decision: per model, the users' ratings, the success rate on the
organisation's task mix, and the /retry preferences between models, each on 0..1 with 0.5 as neutral.

- rating: thumbs up / (up + down), with a Beta(1, 1) prior, (up + 1) / (up + down + 2), so a handful of ratings
  moves a model little and a model nobody rated sits at 0.5;
- success: per task category the smoothed success rate (successes + 1) / (answers + 2), weighted by the category's
  share of all answers in the period (a model used only for easy tasks gains nothing by it); a category the model
  was never used for takes its overall rate;
- retry: the Bradley–Terry strength of the model from /retry decisions between different models (the adopted
  answer beat the displaced one), as the chance of beating an average model.

Between two models, each signal has its test for the decision's family: Fisher's exact test on thumbs up/down and
on success/failure, and an exact binomial test on their head-to-head /retry decisions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from llamune_eval.quarters import previous_quarter
from llamune_eval.scoring.stats import binomial_half_two_sided, fisher_exact
from llamune_eval.store import usage as q
from llamune_eval.store.results import Store

NEUTRAL = 0.5


@dataclass
class ModelSignals:
    model: str
    answers: int = 0
    successes: int = 0
    ratings: int = 0
    up: int = 0
    down: int = 0
    rating: float = NEUTRAL
    success: float = NEUTRAL
    retry: float = NEUTRAL
    retry_decisions: int = 0


@dataclass
class SignalTest:
    """One usage hypothesis between a challenger and an incumbent model (positive `diff`: challenger better)."""

    name: str
    test: str
    n: int
    diff: float
    p: float


@dataclass
class UsageSignals:
    period: str | None  # the quarter whose events count; None: every event (the data quarter had none)
    events: int
    models: dict[str, ModelSignals] = field(default_factory=dict)
    head_to_head: dict[tuple[str, str], int] = field(default_factory=dict)

    def of(self, model: str) -> ModelSignals:
        return self.models.get(model) or ModelSignals(model)

    def tests(self, challenger: str, incumbent: str) -> list[SignalTest]:
        """The usage hypotheses with data on both models (none for the same model under two presets)."""
        if challenger == incumbent:
            return []
        c, i = self.of(challenger), self.of(incumbent)
        out = []
        if c.up + c.down and i.up + i.down:
            out.append(
                SignalTest(
                    "usage:rating",
                    "Fisher exact",
                    c.up + c.down + i.up + i.down,
                    c.rating - i.rating,
                    fisher_exact(c.up, c.down, i.up, i.down),
                )
            )
        if c.answers and i.answers:
            out.append(
                SignalTest(
                    "usage:success",
                    "Fisher exact",
                    c.answers + i.answers,
                    c.success - i.success,
                    fisher_exact(c.successes, c.answers - c.successes, i.successes, i.answers - i.successes),
                )
            )
        wins = self.head_to_head.get((challenger, incumbent), 0)
        losses = self.head_to_head.get((incumbent, challenger), 0)
        if wins + losses:
            out.append(
                SignalTest(
                    "usage:retry",
                    "exact binomial",
                    wins + losses,
                    wins / (wins + losses) - 0.5,
                    binomial_half_two_sided(min(wins, losses), wins + losses),
                )
            )
        return out


def data_period(store: Store, quarter: str | None) -> tuple[str | None, int]:
    """The quarter before the decided one when it has events (the specification's three months of data), else
    every event; and how many events that is."""
    per = q.events_per_quarter(store)
    if quarter is not None:
        data = previous_quarter(quarter)
        if per.get(data):
            return data, per[data]
    return None, sum(per.values())


def usage_signals(store: Store, quarter: str | None) -> UsageSignals:
    period, events = data_period(store, quarter)
    out = UsageSignals(period, events)
    for model, answers, successes, ratings, up, down in q.per_model(store, period):
        out.models[model] = ModelSignals(
            model, answers, successes, ratings, up, down, rating=(up + 1) / (up + down + 2)
        )
    categories = q.per_category(store, period)
    total = sum(n for _, _, n, _ in categories)
    share: dict[str, float] = {}
    cells: dict[tuple[str, str], tuple[int, int]] = {}
    for category, model, n, ok in categories:
        share[category] = share.get(category, 0.0) + n / total
        cells[(category, model)] = (n, ok)
    for m in out.models.values():
        overall = (m.successes + 1) / (m.answers + 2)
        m.success = sum(
            w * ((cells[(c, m.model)][1] + 1) / (cells[(c, m.model)][0] + 2)) if (c, m.model) in cells else w * overall
            for c, w in share.items()
        )
    decisions = q.retry_decisions(store, period)
    for winner, loser in decisions:
        out.head_to_head[(winner, loser)] = out.head_to_head.get((winner, loser), 0) + 1
    if decisions:
        from llamune_eval.scoring.stats import bradley_terry

        for model, strength in bradley_terry([(w, loser, 1.0) for w, loser in decisions]).items():
            signals = out.models.setdefault(model, ModelSignals(model))
            signals.retry = 1 / (1 + math.exp(-strength))
            signals.retry_decisions = sum(model in pair for pair in decisions)
    return out
