"""Who checks the judge: its agreement with people's ratings, per judge and for the panel, and the rule that lets a
judged suite count in the decision only when its judge has been checked (README: "Judging").

The people's score of an answer is its raters' mean on the suite's scale (a rating given on another scale, a
1-5 CSV, is mapped to it linearly); the judge's is its mean verdict over the answer's turns
(`store.selection.judge_verdicts`), mapped to the people's scale; the panel's is the judges' mean, which is what
the decision reads. The check uses the panel's Kendall tau-b.
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from llamune_eval.config import JudgeConfig
from llamune_eval.rating.transfer import configured_ratings
from llamune_eval.records import HumanRating
from llamune_eval.scoring.agreement import Agreement, Estimate, Rated, agreement, inter_rater, to_scale
from llamune_eval.settings_evidence import Figure, JudgeEvidence, JudgeStatus, SuiteJudgeCheck
from llamune_eval.store.ratings import ratings
from llamune_eval.store.selection import Verdict, judge_verdicts

if TYPE_CHECKING:
    from llamune_eval.store.results import Store

PANEL = "panel"  # the judges' mean: the score the decision reads


@dataclass(frozen=True)
class People:
    """An answer's ratings by people: their mean on the answer's scale."""

    sample_key: str
    suite: str
    item: str
    score: float
    scale: int
    raters: int


def people_scores(ratings: Iterable[HumanRating]) -> tuple[dict[str, People], list[tuple[str, float, float, int]]]:
    """Per answer, the people's score; and every pair of raters' scores of one answer (for their own agreement)."""
    by_answer: dict[str, list[HumanRating]] = {}
    for r in ratings:
        if r.score is not None and r.scale is not None:
            by_answer.setdefault(r.sample_key, []).append(r)
    people: dict[str, People] = {}
    pairs: list[tuple[str, float, float, int]] = []
    for key, rs in sorted(by_answer.items()):
        scale = statistics.mode(r.scale for r in rs if r.scale)
        scores = [to_scale(float(r.score or 0), int(r.scale or scale), scale) for r in rs]
        people[key] = People(key, rs[0].suite, f"{rs[0].suite}/{rs[0].item_id}", statistics.fmean(scores), scale,
                             len(rs))  # fmt: skip
        pairs += [(key, a, b, scale) for a, b in itertools.combinations(scores, 2)]
    return people, pairs


def rated_answers(people: dict[str, People], verdicts: Iterable[Verdict]) -> dict[str, list[tuple[str, Rated]]]:
    """judge (and `PANEL`) -> (suite, the answer as both rated) for every answer people and that judge rated."""
    per_answer: dict[str, list[Verdict]] = {}
    for v in verdicts:
        if v.sample_key in people:
            per_answer.setdefault(v.sample_key, []).append(v)
    out: dict[str, list[tuple[str, Rated]]] = {}
    for key, vs in per_answer.items():
        p = people[key]
        mapped = [to_scale(v.overall, v.scale, p.scale) for v in vs]
        for v, judge in zip(vs, mapped, strict=True):
            own = v.judge_family == v.model_family if v.judge_family and v.model_family else None
            rated = Rated(judge, p.score, p.scale, v.chars, own, p.item)
            out.setdefault(v.judge, []).append((p.suite, rated))
        panel = Rated(statistics.fmean(mapped), p.score, p.scale, max(v.chars for v in vs), None, p.item)
        out.setdefault(PANEL, []).append((p.suite, panel))
    return out


def figure(e: Estimate) -> Figure:
    return Figure(value=e.value, low=e.low, high=e.high, n=e.n)


def meets(kendall: Estimate, rule: JudgeConfig) -> bool:
    """The bar: enough answers, and Kendall tau-b's lower bound above `min_agreement`."""
    return kendall.n >= rule.min_rated and kendall.low is not None and kendall.low > rule.min_agreement


@dataclass
class JudgeValidation:
    """The judge check of a quarter: agreement per judge over all judged answers, the panel's over all and per
    suite (the rule reads it), the raters' own agreement, and each judged suite's status."""

    evidence: JudgeEvidence
    agreement: dict[str, dict[str, Agreement]] = field(default_factory=dict)  # judge -> "" (all) or suite -> ...
    inter_rater: Estimate = field(default_factory=lambda: Estimate(None, None, None, 0))
    points: list[tuple[str, Rated]] = field(default_factory=list)  # the panel's answers, for the report's charts
    raters: list[str] = field(default_factory=list)  # who rated the quarter's answers
    ratings: int = 0  # their ratings

    def refused(self) -> dict[str, str]:
        """suite -> why its judged scores do not count."""
        rule = self.evidence
        out = {}
        for c in self.evidence.suites:
            if c.counted:
                continue
            if c.status == "unchecked":
                out[c.suite] = (
                    f"judge unchecked: {c.kendall.n} answers rated by people and the judge (needs "
                    f"{rule.min_rated}; `llamune-eval rate`)"
                )
            else:
                where = "this suite's" if c.scope == "suite" else "all judged"
                out[c.suite] = (
                    f"judge below the bar: Kendall tau-b {_num(c.kendall.value)} [{_num(c.kendall.low)}, "
                    f"{_num(c.kendall.high)}] on {c.kendall.n} of {where} answers (its lower bound must exceed "
                    f"{rule.min_agreement})"
                )
        return out


def _num(v: float | None) -> str:
    return "-" if v is None else f"{v:.2f}"


def validate(
    judged_suites: Iterable[str],
    ratings: list[HumanRating],
    verdicts: list[Verdict],
    rule: JudgeConfig,
    *,
    alpha: float,
    seed: int,
) -> JudgeValidation:
    """Agreement figures and each judged suite's status under `rule`."""
    people, pairs = people_scores(ratings)
    answers = rated_answers(people, verdicts)
    figures: dict[str, dict[str, Agreement]] = {}
    for judge, rated in sorted(answers.items()):  # each judge over all its answers; the panel per suite too
        figures[judge] = {"": agreement([r for _, r in rated], alpha=alpha, seed=seed)}
        for suite in sorted({s for s, _ in rated}) if judge == PANEL else []:
            figures[judge][suite] = agreement([r for s, r in rated if s == suite], alpha=alpha, seed=seed)
    panel = figures.get(PANEL, {})
    nothing = Estimate(None, None, None, 0)
    checks = []
    for suite in sorted(set(judged_suites)):
        own = panel[suite].kendall if suite in panel else nothing
        scope: Literal["suite", "all"] | None = "suite" if own.n else None
        kendall = own
        if own.n < rule.min_rated and "" in panel:
            scope, kendall = "all", panel[""].kendall
        status: JudgeStatus
        if not rule.require_checked:
            status = "not-required"
        elif kendall.n < rule.min_rated:
            status = "unchecked"
        else:
            status = "checked" if meets(kendall, rule) else "below-bar"
        counted = status in ("checked", "not-required")
        checks.append(
            SuiteJudgeCheck(suite=suite, status=status, counted=counted, scope=scope, kendall=figure(kendall))
        )
    raters = {r.rater for r in ratings}
    evidence = JudgeEvidence(
        require_checked=rule.require_checked,
        min_agreement=rule.min_agreement,
        min_rated=rule.min_rated,
        level=1 - alpha,
        rated_answers=len(answers.get(PANEL, [])),
        raters=len(raters),
        suites=checks,
        note=None
        if rule.require_checked
        else "[judge] require_checked = false: judged suites count whether or not people checked the judge",
    )
    return JudgeValidation(
        evidence,
        figures,
        inter_rater(pairs, alpha=alpha, seed=seed),
        answers.get(PANEL, []),
        sorted(raters),
        len(ratings),
    )


def check(
    store: Store, rule: JudgeConfig, keys: set[str], judged: list[str], *, alpha: float, seed: int
) -> JudgeValidation:
    """`validate` on the store's ratings (and `[judge] human_ratings`) and verdicts of the answers `keys` (the
    quarter's: a rating of another quarter's answer checks nothing)."""
    people = [r for r in ratings(store) + configured_ratings(rule.human_ratings, store) if r.sample_key in keys]
    verdicts = [v for v in judge_verdicts(store) if v.sample_key in keys]
    return validate(judged, people, verdicts, rule, alpha=alpha, seed=seed)
