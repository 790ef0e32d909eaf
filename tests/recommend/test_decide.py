"""The decision rule on evidence whose truth we know: it keeps the incumbent against an equal challenger, detects
a real difference, takes the margin route only with enough items, and says why."""

from __future__ import annotations

import random

import pytest

from llamune_eval.config import RecommendConfig
from llamune_eval.recommend.decide import decide
from llamune_eval.usage.signals import UsageSignals
from tests.recommend._synthetic import evidence

GB = 1024**3
MEMORY = {"inc:balanced": GB, "chal:balanced": GB}
QUARTERS = 200


def _quarter(rng: random.Random, shift: float, items: int = 500) -> str:
    """One simulated quarter: items of varied difficulty; the incumbent answers item i right with probability
    p_i, the challenger (another seed) with p_i + shift. Returns whether the incumbent was kept or replaced."""
    difficulty = [rng.uniform(0.05, 0.85) for _ in range(items)]
    inc = [float(rng.random() < p) for p in difficulty]
    chal = [float(rng.random() < p + shift) for p in difficulty]
    lat_inc = [rng.lognormvariate(0, 0.3) for _ in range(items)]
    lat_chal = [rng.lognormvariate(0, 0.3) for _ in range(items)]
    ev = evidence(
        {("inc", "balanced"): {"jnli": inc}, ("chal", "balanced"): {"jnli": chal}},
        {("inc", "balanced"): lat_inc, ("chal", "balanced"): lat_chal},
        seed=rng.randrange(1 << 30),
    )
    d = decide(ev, 16, MEMORY, RecommendConfig(), UsageSignals(None, 0), ("inc", "balanced"), "2026-Q4")
    assert d.incumbent is not None and d.incumbent.label == "inc:balanced"
    assert (d.outcome == "replaced") == (d.main.label == "chal:balanced")
    return "replaced" if d.outcome == "replaced" else "kept"  # kept, or unchallenged (dominated by the incumbent)


def test_an_equal_challenger_does_not_replace_the_incumbent() -> None:
    rng = random.Random(2026)
    outcomes = [_quarter(rng, 0.0) for _ in range(QUARTERS)]
    kept = outcomes.count("kept")
    assert kept >= 0.95 * QUARTERS, f"kept {kept} of {QUARTERS}"


def test_a_ten_point_difference_on_500_items_is_detected() -> None:
    rng = random.Random(2027)
    outcomes = [_quarter(rng, 0.10) for _ in range(QUARTERS)]
    replaced = outcomes.count("replaced")
    assert replaced >= 0.9 * QUARTERS, f"replaced {replaced} of {QUARTERS}"


def test_a_lead_on_too_few_items_keeps_the_incumbent_and_says_why() -> None:
    inc = [1.0] * 6 + [0.0] * 4
    chal = [1.0] * 8 + [0.0] * 2  # 20 points ahead, on 10 items
    ev = evidence({("inc", "balanced"): {"jnli": inc}, ("chal", "balanced"): {"jnli": chal}})
    d = decide(ev, 16, MEMORY, RecommendConfig(), UsageSignals(None, 0), ("inc", "balanced"), "2026-Q4")
    assert d.outcome == "kept" and d.main.label == "inc:balanced" and d.challenger is not None
    assert d.margin is not None and d.margin.quality_diff is not None and abs(d.margin.quality_diff - 0.2) < 1e-9
    assert not d.margin.enough and d.margin.items_needed["jnli"] > 10 and not d.margin.met
    jnli = next(t for t in d.tests if t.name == "jnli")
    assert jnli.test == "McNemar exact" and jnli.favours is None and jnli.p_holm is not None and jnli.p_holm > 0.05
    assert "有意でない" in d.reason and "設問数が不足" in d.reason
    assert d.power["jnli"] > 100  # the power figure: paired items needed for 5 points


def test_the_margin_route_replaces_when_every_suite_has_the_items(monkeypatch: pytest.MonkeyPatch) -> None:
    """With no test favouring the challenger (the family silenced here: at one alpha a lead of this size over
    these items is usually significant too), a margin-sized lead on suites holding the items that the power
    figure asks for at the same alpha replaces the incumbent."""
    import llamune_eval.recommend.decide as decide_module

    monkeypatch.setattr(decide_module, "_family", lambda *args: [])
    rng = random.Random(3)
    suites_inc: dict[str, list[float]] = {}
    suites_chal: dict[str, list[float]] = {}
    for s in range(6):  # six suites, each a small lead: none significant alone after Holm, 6 points together
        p = [rng.uniform(0.2, 0.8) for _ in range(1500)]
        suites_inc[f"s{s}"] = [float(rng.random() < x) for x in p]
        suites_chal[f"s{s}"] = [float(rng.random() < x + 0.06) for x in p]
    ev = evidence({("inc", "balanced"): suites_inc, ("chal", "balanced"): suites_chal})
    d = decide(ev, 16, MEMORY, RecommendConfig(), UsageSignals(None, 0), ("inc", "balanced"), "2026-Q4")
    assert d.margin is not None and d.margin.met and d.margin.enough
    assert d.outcome == "replaced" and "基準 0.05 以上" in d.reason


def test_without_an_incumbent_the_best_score_leads_and_the_runner_up_is_tested() -> None:
    ev = evidence({("a", "fast"): {"jnli": [1.0] * 70 + [0.0] * 30}, ("b", "fast"): {"jnli": [1.0] * 50 + [0.0] * 50}})
    memory = {"a:fast": GB, "b:fast": GB}
    d = decide(ev, 16, memory, RecommendConfig(), UsageSignals(None, 0))
    assert d.outcome == "first" and d.main.label == "a:fast" and d.incumbent is None
    assert "次点 b:fast" in d.reason
    assert [t.name for t in d.tests] == ["jnli", "latency"]


def test_a_preset_no_longer_evaluated_hands_over_to_the_models_best_preset() -> None:
    ev = evidence({("inc", "fast"): {"jnli": [1.0] * 60 + [0.0] * 40}, ("inc", "balanced"): {"jnli": [1.0] * 50
                   + [0.0] * 50}})  # fmt: skip
    memory = {"inc:fast": GB, "inc:balanced": GB}
    d = decide(ev, 16, memory, RecommendConfig(), UsageSignals(None, 0), ("inc", "creative"), "2026-Q4")
    assert d.incumbent is not None and d.incumbent.label == "inc:fast"
    assert "今期の候補にない" in d.incumbent_source


def test_score_components_are_in_points_of_quality() -> None:
    ev = evidence({("a", "fast"): {"jnli": [1.0] * 8 + [0.0] * 2}, ("b", "fast"): {"jnli": [1.0] * 8 + [0.0] * 2}},
                  {("a", "fast"): [1.0] * 10, ("b", "fast"): [4.0] * 10})  # fmt: skip
    rule = RecommendConfig(memory_weight=0.0)
    d = decide(ev, 16, {"a:fast": GB, "b:fast": GB}, rule, UsageSignals(None, 0))
    by = {c.label: c for c in d.candidates}
    assert by["a:fast"].score == 0.8 and abs(by["b:fast"].latency_penalty - 2 * rule.latency_per_doubling) < 1e-12
    assert by["a:fast"].components == {"quality": 0.8, "rating": 0.5, "success": 0.5, "retry": 0.5, "memory": 1.0
                                       - GB / (16 * 0.75 * GB)}  # fmt: skip
