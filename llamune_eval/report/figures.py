"""report.json's judge and usage sections, typed: the figures `scoring.reliability` and `usage.usage_metrics` compute,
under the keys they give them (the template reads those keys). The producers stay free of report imports (the
layers, tests/test_layers.py) and return plain data; `report.collect` reads it into these models, so a key a
producer renames fails the report's build instead of reaching the template or the next quarter as a missing one.

A figure that rests on too little data is NaN when computed and null in report.json (`jsonio` writes non-finite
floats as null), hence `float | None` on every ratio and correlation.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from llamune_eval.settings_evidence import Figure, JudgeEvidence


class Part(BaseModel):
    """A part of report.json: names by alias (camelCase where the file has them), no unknown key."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid", defer_build=True)


class PanelMajority(Part):
    """Pairwise results by panel majority for one pair of configurations (`reliability.panel_majority`)."""

    a: str
    b: str
    a_wins: int
    b_wins: int
    ties: int


class JudgeFigures(Part):
    """`reliability.judge_figures`, keyed as it keys them."""

    bradley_terry: dict[str, list[float | None]] | None = Field(
        default=None, description="pairwise: per configuration [log-strength, low, high]; null without pairwise"
    )
    judgements: int
    parse_failures: int
    position_flip_rate: float | None
    pairs_in_both_orders: int
    length_correlation: float | None
    self_preference: float | None
    repeat_mean_abs_diff: float | None
    rejudged: int
    judge_temperature: float
    panel_pairwise_disagreement: float | None
    pairwise_majority: list[PanelMajority] = Field(default_factory=list)


class JudgeScore(Part):
    """Mean score of one suite x model x preset x judge (or the panel's mean over its judges)."""

    suite: str
    model: str
    preset: str
    judge: str
    scale: int
    n: int
    mean: float


class SmallJudge(Part):
    """A judge too small (or of unknown size) for its verdicts to stand as a verdict on quality."""

    judge: str
    parameters: int | None = None


class AgreementRow(Part):
    """How one judge (or the panel: the judges' mean, which the decision reads) agrees with people, on every
    judged answer both rated (`scope` all) or on one suite's (`scoring.agreement.Agreement`)."""

    judge: str
    scope: str = Field(description='"all" or a suite')
    spearman: Figure
    kendall: Figure = Field(description="Kendall tau-b: the figure the check reads (the panel's)")
    kappa: Figure = Field(description="quadratic-weighted kappa, the judge's score rounded on the people's scale")
    pairwise: Figure = Field(description="share of two answers to one item the judge orders as people do (n: pairs)")
    length_correlation: Figure = Field(alias="lengthCorrelation", description="Spearman of judge - people with length")
    length_slope: Figure = Field(alias="lengthSlope", description="judge - people (0..1) per 1,000 characters")
    self_preference: Figure = Field(alias="selfPreference", description="judge - people on its own family minus others")


class RatedPoint(Part):
    """One answer rated by people and the panel, on 0..1 of its scale (the report's charts)."""

    suite: str
    judge: float
    people: float
    chars: int
    residual: float


class Validation(Part):
    """The judge checked against people (`analysis.judge_check`): the rule and each judged suite's status, the
    agreement figures, and the raters' own agreement (the ceiling a judge can reach)."""

    check: JudgeEvidence
    agreement: list[AgreementRow] = Field(default_factory=list)
    inter_rater: Figure = Field(alias="interRater", description="quadratic-weighted kappa between raters (n: answers)")
    raters: list[str] = Field(default_factory=list)
    ratings: int = 0
    points: list[RatedPoint] = Field(default_factory=list)


class JudgeSection(Part):
    figures: JudgeFigures | None = None
    validation: Validation | None = Field(default=None, description="null: no judged suite in the quarter")
    scores: list[JudgeScore] = Field(default_factory=list)
    panel_disagreement: float | None = Field(default=None, alias="panelDisagreement")
    judges: list[str] = Field(default_factory=list)
    small_judges: list[SmallJudge] = Field(default_factory=list, alias="smallJudges")


class HumanEvaluation(Part):
    """The means of /rate's three 5-level criteria, and how many answers were rated."""

    accuracy: float | None = None
    naturalness: float | None = None
    usefulness: float | None = None
    rated: int = 0


class ModelUsage(Part):
    count: int
    average_execution_time: float | None = Field(default=None, alias="averageExecutionTime")
    success_rate: float | None = Field(default=None, alias="successRate")
    user_rating: float | None = Field(default=None, alias="userRating")
    ratings: int = 0
    human_evaluation: HumanEvaluation = Field(default_factory=HumanEvaluation, alias="humanEvaluation")


class TaskPerformance(Part):
    model: str | None = None
    count: int
    success_rate: float | None = Field(default=None, alias="successRate")
    average_execution_time: float | None = Field(default=None, alias="averageExecutionTime")
    user_rating: float | None = Field(default=None, alias="userRating")


class Users(Part):
    active: int
    sessions: int
    conversations: int
    sessions_per_user: float | None = Field(default=None, alias="sessionsPerUser")
    conversations_per_user: float | None = Field(default=None, alias="conversationsPerUser")
    satisfaction: float | None = None
    rated: int = 0
    per_tier: dict[str, int] = Field(default_factory=dict, alias="perTier")


class Kpi(Part):
    """One Phase 2 KPI against its `[usage] targets` value; `met` None: nothing to judge it on."""

    name: str
    label: str
    value: int | float | None = None  # a count, or the satisfaction on 1-5
    target: int | float
    met: bool | None = None


class Feedback(Part):
    thumbs_up: int = Field(alias="thumbsUp")
    thumbs_down: int = Field(alias="thumbsDown")
    comments: list[str] = Field(default_factory=list)


class RetryAdoption(Part):
    retries: int
    adopted: int
    adoption_rate: float | None = Field(default=None, alias="adoptionRate")


class UsageSection(Part):
    """`usage.usage_metrics` over the period the quarter's choice rests on, with that period and the events per
    quarter. A model key is null where events did not name their model."""

    quarter: str | None = None
    users: Users
    kpis: list[Kpi] = Field(default_factory=list)
    model_usage: dict[str | None, ModelUsage] = Field(default_factory=dict, alias="modelUsage")
    task_performance: dict[str, list[TaskPerformance]] = Field(default_factory=dict, alias="taskPerformance")
    user_feedback: Feedback = Field(alias="userFeedback")
    retry_adoption: dict[str, RetryAdoption] = Field(default_factory=dict, alias="retryAdoption")
    retry_bradley_terry: dict[str, list[float | None]] = Field(default_factory=dict, alias="retryBradleyTerry")
    retry_preferences: int = Field(default=0, alias="retryPreferences")
    period: str = Field(description="the quarter the figures cover, or 'all'")
    events_per_quarter: dict[str, int] = Field(default_factory=dict, alias="eventsPerQuarter")
