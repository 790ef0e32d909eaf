"""The judge checked against people: a judged suite counts in the decision only when the panel's Kendall tau-b
with people clears `[judge] min_agreement` on enough answers. On a synthetic store whose judge gives 8/10 to a
right answer and 3/10 to a wrong one, with people who agree with it, who rate at random, or who are not asked."""

from __future__ import annotations

import random
import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from fixtures.synth import synthesize
from llamune_eval.analysis import Evidence
from llamune_eval.config import Config
from llamune_eval.recommend.quarterly import build
from llamune_eval.records import HumanRating, rating_key
from llamune_eval.report import collect, render_html
from llamune_eval.store import ratings
from llamune_eval.store.results import Store
from llamune_eval.store.selection import judge_verdicts
from tests.report.test_summary_render import _text

QUARTER = "2026-Q4"
JUDGED = ["business-writing", "extraction"]


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("judged") / "s.duckdb"
    synthesize(path, 1200)
    return path


def _store(base: Path, tmp: Path, people: str, n: int = 60) -> Config:
    """A copy of the synthetic store with `n` answers rated: as the judge scored them plus or minus a point
    ("agree"), at random ("random"), or none ("none")."""
    path = tmp / "s.duckdb"
    shutil.copy(base, path)
    cfg = Config.model_validate({"paths": {"store": str(path), "recommended": str(tmp / "rec")},
                                 "recommend": {"min_items": 1}})  # fmt: skip
    if people != "none":
        rng = random.Random(1)
        with Store(path) as store:
            verdicts = judge_verdicts(store)[:n]
            suites = dict(store.con.execute("SELECT key, suite FROM samples").fetchall())
            rows = []
            for v in verdicts:
                score = round(v.overall) + rng.choice([-1, 0, 1]) if people == "agree" else rng.randint(1, 10)
                rows.append(HumanRating(key=rating_key("sato", v.sample_key), sample_key=v.sample_key,
                                        suite=suites[v.sample_key], item_id="x", rater="sato", score=score,
                                        scale=10, created_at=datetime(2026, 11, 2)))  # fmt: skip
            ratings.save(store, rows)
    return cfg


def _evidence(cfg: Config) -> tuple[Evidence, dict[str, Any]]:
    with Store(cfg.paths.store) as store:
        ev = Evidence.for_quarter(store, cfg, QUARTER)
        settings = build(store, cfg, QUARTER, [], cfg.paths.recommended, preview=True, ev=ev)
        report = collect(store, cfg, QUARTER)
    return ev, {"settings": settings, "report": report}


def test_without_people_a_judged_suite_is_shown_and_not_counted(base: Path, tmp_path: Path) -> None:
    ev, out = _evidence(_store(base, tmp_path, "none"))
    assert ev.judged_suites() == JUDGED
    assert not set(JUDGED) & set(ev.counted_suites()) and "jnli" in ev.counted_suites()
    evidence = out["settings"]["evidence"]
    reasons = {n["suite"]: n["reason"] for n in evidence["notCounted"]}
    assert set(reasons) == set(JUDGED)
    assert reasons["business-writing"].startswith("judge unchecked: 0 answers rated by people and the judge")
    check = evidence["judge"]
    assert check["requireChecked"] is True and check["minAgreement"] == 0.2 and check["minRated"] == 30
    assert [(s["suite"], s["status"], s["counted"]) for s in check["suites"]] == [
        ("business-writing", "unchecked", False), ("extraction", "unchecked", False)]  # fmt: skip
    # the leaderboard still shows the judged suites' scores
    assert {s["suite"] for s in out["report"]["leaderboard"]} >= set(JUDGED)
    validation = out["report"]["judge"]["validation"]
    assert validation["ratings"] == 0 and validation["agreement"] == [] and validation["check"] == check
    text = _text(render_html(out["report"]), "validation")
    assert "|business-writing|未検証|" in text and "|使わない|" in text
    assert "判断に使わなかったスイート：business-writing、extraction。" in text


def test_people_who_agree_check_the_judge(base: Path, tmp_path: Path) -> None:
    ev, out = _evidence(_store(base, tmp_path, "agree"))
    assert set(JUDGED) <= set(ev.counted_suites())
    check = out["settings"]["evidence"]["judge"]
    statuses = {s["suite"]: s for s in check["suites"]}
    for suite in JUDGED:
        s = statuses[suite]
        assert s["status"] == "checked" and s["counted"]
        assert s["kendall"]["low"] > 0.2 and s["kendall"]["n"] >= 30
    assert check["ratedAnswers"] == 60 and check["raters"] == 1
    # the figure the rule read is the panel's Kendall tau-b on the scope it names, as the report shows it
    rows = {(a["judge"], a["scope"]): a for a in out["report"]["judge"]["validation"]["agreement"]}
    for suite in JUDGED:
        scope = "all" if statuses[suite]["scope"] == "all" else suite
        assert rows[("panel", scope)]["kendall"] == statuses[suite]["kendall"]
    assert rows[("judge-x", "all")]["kendall"]["value"] == rows[("panel", "all")]["kendall"]["value"]
    points = out["report"]["judge"]["validation"]["points"]
    assert len(points) == 60 and all(p["judge"] in (2 / 9, 7 / 9) for p in points)  # 3/10 and 8/10 on 0..1
    html = render_html(out["report"])
    text = _text(html, "validation")
    k = rows[("panel", "all")]["kendall"]
    assert "|パネル（平均）|全体|" in text and f"{k['value']:.2f} [{k['low']:.2f}, {k['high']:.2f}]|n={k['n']}|" in text
    assert "|business-writing|検証済み|" in text and "判断に使わなかった" not in text
    section = html.split('id="validation"', 1)[1].split("</section>", 1)[0]
    assert section.count("<circle") == 2 * 60  # every rated answer in both charts


def test_people_at_random_leave_the_judge_below_the_bar(base: Path, tmp_path: Path) -> None:
    ev, out = _evidence(_store(base, tmp_path, "random"))
    check = out["settings"]["evidence"]["judge"]
    assert {s["status"] for s in check["suites"]} == {"below-bar"}
    assert not set(JUDGED) & set(ev.counted_suites())
    reasons = {n["suite"]: n["reason"] for n in out["settings"]["evidence"]["notCounted"]}
    low = check["suites"][0]["kendall"]["low"]
    assert (
        f"judge below the bar: Kendall tau-b {check['suites'][0]['kendall']['value']:.2f} [{low:.2f}, "
        in (reasons["business-writing"])
    )


def test_require_checked_false_counts_judged_suites_and_says_so(base: Path, tmp_path: Path) -> None:
    cfg = _store(base, tmp_path, "none")
    cfg = cfg.model_copy(update={"judge": cfg.judge.model_copy(update={"require_checked": False})})
    ev, out = _evidence(cfg)
    assert set(JUDGED) <= set(ev.counted_suites())
    check = out["settings"]["evidence"]["judge"]
    assert check["requireChecked"] is False and "require_checked = false" in check["note"]
    assert {s["status"] for s in check["suites"]} == {"not-required"}
    assert out["settings"]["evidence"]["notCounted"] == []


def test_a_suite_with_too_few_of_its_own_is_checked_on_all_judged_answers(base: Path, tmp_path: Path) -> None:
    """30 rated answers in all: a suite with fewer of its own is checked on all of them (scope all)."""
    _, out = _evidence(_store(base, tmp_path, "agree", n=30))
    statuses = {s["suite"]: s for s in out["settings"]["evidence"]["judge"]["suites"]}
    assert {s["scope"] for s in statuses.values()} == {"all"}
    assert all(s["kendall"]["n"] == 30 and s["status"] == "checked" for s in statuses.values())
