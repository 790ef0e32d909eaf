"""Simulated quarters for racing (issue 17): the race against the full run, both decided by the decision rule.

Each quarter draws right/wrong answers for 12 configurations on JGLUE's 9,452 validation items (the suites' real
sizes), item difficulty shared by all configurations (logit sd 2), so they agree on most items as real models do.
The full run answers everything; the race answers in the seeded stratified order and stops configurations as
`analysis.racing` says. Both are then decided by the decision rule (quality only: every configuration is equally
fast and large here): the incumbent stays unless the best other configuration scores higher and a Holm-corrected
per-suite McNemar test favours it, or it leads by the margin on enough items (the power figure).

Scenarios (last quarter's main is the incumbent):
- even: accuracies evenly spread over 10 points (the issue's example), the incumbent any of them;
- models: 4 models over 10 points x 3 presets each within 1.5 points, a model's presets sharing its item-level
  errors (what a quarter's sweep looks like), the incumbent any of them;
- tie: the incumbent as good as the best, so every replacement is a false one;
- first: the even spread without an incumbent (the first quarter: the best score is chosen however small its lead).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from llamune_eval.analysis.power import difference_sd, items_needed
from llamune_eval.analysis.racing import Group, Race, RaceRule, item_order
from llamune_eval.scoring.stats import holm, mcnemar_exact

SUITES = {"jcommonsenseqa": 1119, "jnli": 2434, "jsts": 1457, "jsquad": 4442}
CONFIGS = 12


@dataclass
class Quarter:
    agree: bool  # the race's main configuration is the full run's
    share: float  # the race's requests over the full run's
    full: str  # the full run's decision: kept, replaced or first
    raced: str
    false_replacement: bool  # the race replaced an incumbent no worse than the best


def _abilities(targets: np.ndarray, z: np.ndarray) -> np.ndarray:
    """The logit ability giving each target accuracy on these items (bisection)."""
    lo, hi = np.full(len(targets), -12.0), np.full(len(targets), 12.0)
    for _ in range(50):
        mid = (lo + hi) / 2
        acc = (1 / (1 + np.exp(-(mid[:, None] + z[None, :])))).mean(axis=1)
        lo, hi = np.where(acc < targets, mid, lo), np.where(acc < targets, hi, mid)
    return (lo + hi) / 2


def _world(scenario: str, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, int | None]:
    """Right/wrong answers (configurations x items), the true accuracies, and the incumbent."""
    z = rng.normal(0, 2.0, n)
    shared = np.zeros((CONFIGS, n))
    incumbent: int | None = int(rng.integers(CONFIGS))
    if scenario == "models":
        model_acc = np.sort(rng.uniform(0.60, 0.70, 4))
        targets = np.array([a + d for a in model_acc for d in rng.uniform(-0.015, 0.0, 3)])
        shared = np.repeat(rng.normal(0, 1.0, (4, n)), 3, axis=0)  # a model's own hard items, shared by its presets
    else:
        targets = np.linspace(0.60, 0.70, CONFIGS)
        if scenario == "tie":
            targets[-2], incumbent = targets[-1], CONFIGS - 2
        elif scenario == "first":
            incumbent = None
    logits = _abilities(targets, z)[:, None] + z[None, :] + shared
    return (rng.random((CONFIGS, n)) < 1 / (1 + np.exp(-logits))).astype(float), targets, incumbent


def decide(
    x: np.ndarray,
    cols: list[np.ndarray],
    answered: np.ndarray,
    incumbent: int | None,
    rule: RaceRule,
    settled: bool = False,
) -> int:
    """The decision rule on what each configuration answered (`answered[c]` items of the order; `cols[s]` the
    order's positions of suite s's items, `x` configurations x positions); `settled`: the race settled the
    incumbent worse (its anytime-valid test is the raced quarter's evidence beside the family's)."""

    def own(c: int, s: int) -> np.ndarray:
        return x[c, cols[s][cols[s] < answered[c]]]

    quality = np.array([np.mean([own(c, s).mean() for s in range(len(cols))]) for c in range(CONFIGS)])
    others = [c for c in range(CONFIGS) if c != incumbent]
    challenger = max(others, key=lambda c: (quality[c], -c))
    if incumbent is None:
        return challenger
    if quality[challenger] <= quality[incumbent]:
        return incumbent
    if settled:
        return challenger
    both = min(answered[challenger], answered[incumbent])
    pairs = [(x[challenger, p[p < both]], x[incumbent, p[p < both]]) for p in cols]
    ps = [mcnemar_exact(list(a > 0.5), list(b > 0.5)) for a, b in pairs]
    favours = any(q < rule.alpha and a.mean() > b.mean() for q, (a, b) in zip(holm(ps), pairs, strict=True))
    needed = [items_needed(difference_sd(list(a), list(b)), rule.margin) for a, b in pairs]
    enough = all(len(a) >= k for (a, _), k in zip(pairs, needed, strict=True))
    margin = enough and quality[challenger] - quality[incumbent] >= rule.margin
    return challenger if favours or margin else incumbent


def quarter(scenario: str, seed: int, rule: RaceRule | None = None) -> Quarter:
    rule = rule or RaceRule()
    rng = np.random.default_rng(seed)
    items = {s: [f"{s}-{i}" for i in range(n)] for s, n in SUITES.items()}
    order = item_order(items, seed)
    n = len(order)
    x_items, targets, incumbent = _world(scenario, rng, n)
    # lay the answers out in the race's order: position p is order[p]
    start = dict(zip(SUITES, np.cumsum([0, *SUITES.values()])[:-1], strict=True))
    column = np.array([start[s] + int(i.rsplit("-", 1)[1]) for s, i in order])
    x = x_items[:, column]
    suites = list(SUITES)
    cols = [np.flatnonzero(np.array([s == name for s, _ in order])) for name in suites]
    names = [f"c{i:02d}" for i in range(CONFIGS)]
    group = Group(frozenset(names), names[incumbent] if incumbent is not None else None)
    race = Race(names, order, rule, groups=[group])
    while batch := race.next_batch():
        lo = race.position - len(batch)
        for c in race.active:
            row = x[names.index(c)]
            for p, (suite, item) in enumerate(batch, start=lo):
                race.record(c, suite, item, float(row[p]))
        race.look(batch)
    race.close()
    answered = np.array([race.stops[c].items for c in names])
    full = decide(x, cols, np.full(CONFIGS, n), incumbent, rule)
    settled = incumbent is not None and race.stops[names[incumbent]].reason == "settled-worse"
    raced = decide(x, cols, answered, incumbent, rule, settled)

    def outcome(main: int) -> str:
        return "first" if incumbent is None else ("kept" if main == incumbent else "replaced")

    false = incumbent is not None and raced != incumbent and targets[incumbent] >= targets.max()
    return Quarter(raced == full, race.spent / (CONFIGS * n), outcome(full), outcome(raced), bool(false))
