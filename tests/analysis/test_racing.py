"""The race's rules on configurations with known accuracies: stratified seeded order, no false stop of an equal
configuration beyond alpha, the best never stopped, budget kept, and the same seed giving the same race."""

from __future__ import annotations

import random

from llamune_eval.analysis.racing import Race, RaceRule, boundary, item_order


def _items(sizes: dict[str, int]) -> dict[str, list[str]]:
    return {suite: [f"{suite}-{i}" for i in range(n)] for suite, n in sizes.items()}


def _run(race: Race, accuracy: dict[str, float], seed: int, easiness: dict[tuple[str, str], float]) -> None:
    """Answer every batch: an item is right for a configuration when its accuracy beats the item's draw (shared
    item difficulty, so configurations agree on most items as real models do)."""
    rng = random.Random(seed)
    while batch := race.next_batch():
        for suite, item in batch:
            for config in race.active:
                noise = rng.random()
                draw = 0.5 * easiness[(suite, item)] + 0.5 * noise
                race.record(config, suite, item, 1.0 if draw < accuracy[config] else 0.0)
        race.look(batch)
    race.close()


def _easiness(order: list[tuple[str, str]], seed: int) -> dict[tuple[str, str], float]:
    rng = random.Random(f"items:{seed}")
    return {key: rng.random() for key in order}


def test_every_prefix_of_the_order_is_stratified_and_the_seed_fixes_it() -> None:
    items = _items({"jnli": 2400, "jsts": 1400, "jcommonsenseqa": 1100})
    order = item_order(items, seed=7)
    assert sorted(order) == sorted((s, i) for s, ids in items.items() for i in ids)
    tenth = order[: len(order) // 10]
    share = {s: sum(1 for x, _ in tenth if x == s) for s in items}
    assert share == {"jnli": 240, "jsts": 140, "jcommonsenseqa": 110}
    assert item_order(items, seed=7) == order and item_order(items, seed=8) != order


def test_the_boundary_grows_with_evidence_and_with_confidence() -> None:
    assert boundary(100, 0.05, 30) < boundary(400, 0.05, 30) < boundary(1600, 0.05, 30)
    assert boundary(400, 0.05, 30) < boundary(400, 0.005, 30)
    # in standard errors, it is a few at any time: never the 1.96 a single look could use
    assert 3.0 < boundary(400, 0.05 / 3, 30) / 400**0.5 < 4.5


def test_equal_configurations_are_almost_never_stopped() -> None:
    """The null: four configurations with the same accuracy, looked at after every 25 items. A configuration may be
    stopped only by a false 'settled worse': at most alpha of the races, however often the race looks."""
    items = _items({"a": 600, "b": 400})
    stopped = 0
    for seed in range(150):
        order = item_order(items, seed)
        race = Race(["i", "p", "q", "r"], order, RaceRule(batch=25))
        _run(race, dict.fromkeys(["i", "p", "q", "r"], 0.6), seed, _easiness(order, seed))
        stopped += race.stops["i"].reason == "settled-worse"
    assert stopped / 150 <= 0.05


def test_the_best_runs_on_and_clearly_worse_ones_stop_early() -> None:
    items = _items({"a": 1500, "b": 1000})
    accuracy = {"best": 0.75, "close": 0.73, "mid": 0.62, "poor": 0.45}
    for seed in range(10):
        order = item_order(items, seed)
        race = Race(list(accuracy), order, RaceRule(batch=50))
        _run(race, accuracy, seed, _easiness(order, seed))
        stops = race.stops
        assert stops["best"].reason in ("settled-best", "complete")
        assert stops["poor"].reason == "settled-worse" and stops["poor"].items < 500
        assert stops["mid"].reason == "settled-worse" and stops["mid"].by in ("best", "close")
        full = len(order) * len(accuracy)
        assert race.spent < 0.75 * full
        assert race.spent == sum(s.items for s in stops.values())


def test_the_budget_is_kept_and_said() -> None:
    items = _items({"a": 1000})
    order = item_order(items, 3)
    accuracy = {"x": 0.6, "y": 0.6, "z": 0.6}
    race = Race(list(accuracy), order, RaceRule(batch=40), budget=500)
    _run(race, accuracy, 3, _easiness(order, 3))
    assert race.spent <= 500 and {s.reason for s in race.stops.values()} == {"budget"}
    assert {s.items for s in race.stops.values()} == {race.spent // 3}


def test_the_same_seed_runs_the_same_race() -> None:
    items = _items({"a": 800, "b": 800})
    accuracy = {"x": 0.7, "y": 0.6, "z": 0.5}
    outcomes = []
    for _ in range(2):
        order = item_order(items, 11)
        race = Race(list(accuracy), order)
        _run(race, accuracy, 11, _easiness(order, 11))
        outcomes.append({c: (s.reason, s.items, s.by) for c, s in race.stops.items()})
    assert outcomes[0] == outcomes[1]
