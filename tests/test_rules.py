"""Rules written once and read the same everywhere (issue 27): the tier fit the race and the decision share, one
alpha for the decision, the power figure and the report's marks, and one quarter for a run whose clock crosses a
quarter boundary."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Any, ClassVar

import pytest

from llamune_eval.analysis.memory import fits, tier_budget
from llamune_eval.analysis.pairs import paired
from llamune_eval.analysis.power import difference_sd, items_needed
from llamune_eval.config import Config, RecommendConfig
from llamune_eval.recommend.decide import candidates, decide
from llamune_eval.report.collect import leaderboard_section
from llamune_eval.runner.race import RaceSpec, groups
from llamune_eval.usage.signals import UsageSignals
from tests.recommend._synthetic import evidence

GB = 1024**3
ROOT = Path(__file__).resolve().parents[1]


def test_the_race_and_the_decision_put_the_same_configurations_in_each_tier() -> None:
    """Per tier, the race's group and the decision's candidates are the same set, a model of unknown size
    included: it fits no tier in both (it might not fit a user's machine)."""
    outcomes = {(m, "fast"): {"jnli": [1.0, 0.0] * 20} for m in ("small", "big", "edge", "unknown")}
    ev = evidence(outcomes)
    rule = RecommendConfig(tiers=[16, 32, 64], headroom=0.75)
    needs: dict[str, int | None] = {
        "small:fast": 4 * GB,
        "big:fast": 20 * GB,
        "edge:fast": tier_budget(32, 0.75),  # exactly the 32 GB tier's budget: fits it
        "unknown:fast": None,
    }
    known = {k: v for k, v in needs.items() if v is not None}
    seen = {}
    for gb in rule.tiers:
        cfg = Config.model_validate({"recommend": {"tiers": [gb], "headroom": 0.75}})
        (group,) = groups(cfg, RaceSpec(), list(needs), needs)
        pool, excluded = candidates(ev, known, gb, rule, UsageSignals(None, 0))
        assert set(group.members) == {c.config.label for c in pool}, gb
        assert "unknown:fast" in {label for label, _ in excluded}
        seen[gb] = set(group.members)
    assert seen == {
        16: {"small:fast"},
        32: {"small:fast", "big:fast", "edge:fast"},
        64: {"small:fast", "big:fast", "edge:fast"},
    }
    assert not any(fits(None, gb, 0.75) for gb in (16, 32, 64, 10_000))


def test_a_configuration_that_fits_no_tier_answers_nothing_in_the_race() -> None:
    """The race stops it before the first item, with its reason, instead of failing at the first look."""
    from llamune_eval.analysis.racing import Race

    cfg = Config.model_validate({"recommend": {"tiers": [16], "headroom": 0.75}})
    needs: dict[str, int | None] = {"a:fast": GB, "b:fast": GB, "huge:fast": 40 * GB}
    order = [("jnli", str(i)) for i in range(10)]
    race = Race(list(needs), order, groups=groups(cfg, RaceSpec(), list(needs), needs))
    assert race.stops["huge:fast"].reason == "fits-no-tier" and race.stops["huge:fast"].items == 0
    assert race.active == ["a:fast", "b:fast"]
    batch = race.next_batch()
    for config in race.active:
        for suite, item in batch:
            race.record(config, suite, item, 1.0)
    race.look(batch)  # the old code raised KeyError here: a configuration in no group had no reason
    assert race.stops["huge:fast"].items == 0


def _split_pair() -> dict[tuple[str, str], dict[str, list[float]]]:
    """Two configurations whose jnli difference is significant at 0.05 and not at 0.01 (McNemar exact: 17
    discordant items won by `a`, 5 by `b`, p = 0.017)."""
    a = [1.0] * 17 + [0.0] * 5 + [1.0] * 30 + [0.0] * 28
    b = [0.0] * 17 + [1.0] * 5 + [1.0] * 30 + [0.0] * 28
    return {("a", "fast"): {"jnli": a}, ("b", "fast"): {"jnli": b}}


def test_at_alpha_001_the_decision_the_power_figure_and_the_report_marks_agree() -> None:
    outcomes = _split_pair()
    memory = {"a:fast": GB, "b:fast": GB}
    strict = evidence(outcomes, alpha=0.01)
    loose = evidence(outcomes, alpha=0.05)
    p = paired(strict, "jnli", strict.configs[("a", "fast")], strict.configs[("b", "fast")]).p
    assert p is not None and 0.01 < p < 0.05

    for ev, alpha, significant in ((strict, 0.01, False), (loose, 0.05, True)):
        d = decide(ev, 16, memory, RecommendConfig(alpha=alpha), UsageSignals(None, 0))
        (jnli,) = [t for t in d.tests if t.name == "jnli"]
        assert (jnli.favours == "a:fast") is significant and (jnli.p_holm is not None and jnli.p_holm < alpha) is (
            significant
        )
        # the power figure at the same alpha: the paired sd of these items, 80% power, delta 0.05
        sd = difference_sd(outcomes[("a", "fast")]["jnli"], outcomes[("b", "fast")]["jnli"])
        assert d.power == {"jnli": items_needed(sd, 0.05, alpha=alpha)}
        # the report's mark: b is marked significantly worse than the best exactly when the decision says so
        (board,) = leaderboard_section(ev)
        worse = {e.model: e.vs_best.worse for e in board.rows if e.vs_best is not None}
        assert worse == {"a": False, "b": significant}
    assert items_needed(1.0, 0.05, alpha=0.01) > items_needed(1.0, 0.05, alpha=0.05)


def test_evidence_read_at_another_alpha_than_the_rule_is_refused() -> None:
    with pytest.raises(ValueError, match=r"alpha 0\.05, the rule.s is 0\.01"):
        decide(
            evidence(_split_pair()),
            16,
            {"a:fast": GB, "b:fast": GB},
            RecommendConfig(alpha=0.01),
            UsageSignals(None, 0),
        )


class _Clock(dt.date):
    """A calendar whose day moves on after each reading: the run starts on 31 December and is still going on
    1 January, when the next quarter would be another."""

    days: ClassVar[list[dt.date]] = []

    @classmethod
    def today(cls) -> Any:
        return cls.days.pop(0) if len(cls.days) > 1 else cls.days[0]


def test_a_run_whose_clock_crosses_a_quarter_boundary_records_and_races_one_quarter(
    tmp_path: Path, smollm2_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Against llama.cpp's own server: the quarter is resolved once, when the run starts, so the run's row and
    the race's stops carry the same quarter although the date has moved into the next one."""
    import llamune_eval.quarters as quarters
    from llamune_eval.runner.sweep import Sweep, sweep

    _Clock.days = [dt.date(2026, 12, 31), dt.date(2027, 1, 1)]
    monkeypatch.setattr(quarters, "date", _Clock)
    cfg = Config.model_validate({
        "engines": [{"kind": "openai", "url": smollm2_server.url, "max_concurrency": 2}],
        "paths": {"store": str(tmp_path / "r.duckdb"), "recommended": str(tmp_path / "recommended")},
        "run": {"suites_dir": str(ROOT / "suites"), "presets": ["fast", "creative"]},
    })  # fmt: skip
    spec = Sweep(suites=["jcommonsenseqa"], limit=2, race=RaceSpec(budget=4))
    outcome = asyncio.run(sweep(cfg, spec))
    with outcome.store as store:
        runs = store.con.execute("SELECT DISTINCT quarter FROM runs").fetchall()
        races = store.con.execute("SELECT DISTINCT quarter FROM races").fetchall()
    assert runs == [("2027-Q1",)] and races == [("2027-Q1",)]
    assert _Clock.today() == dt.date(2027, 1, 1)  # the clock did move on: a second reading gives 2027-Q2
