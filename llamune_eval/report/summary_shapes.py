"""The summary section's shape: how the report reads a settings file of ANY release, every key the template reads
always present. The file's evidence may come from an older release (keys added since are missing, a tier's evidence
was once a dict by GB) or be cut short, and the template runs with StrictUndefined, so the evidence is read through
these views: a key a file lacks is None, [] or {} here, and keys this report does not show are kept as they are.

What this release writes is `settings_evidence.EvidenceShape` (strict, required fields); these views are its
lenient reading, not a second definition of the file: each is named `...View` after the part it reads, and a file
`recommend` writes always fits both (tests/report/test_summary_render.py checks a full file against the shape).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


def _no_interval() -> list[float | None]:
    return [None, None]


class View(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="allow", defer_build=True, protected_namespaces=())


class SuiteView(View):
    suite: str | None = None
    value: float | None = None
    ci: list[float | None] = Field(default_factory=_no_interval, min_length=2, max_length=2)
    n: int | None = None
    items_for_5_points: int | None = Field(default=None, alias="itemsFor5Points")


class MainView(View):
    config: str | None = None
    quality: float | None = None
    score: float | None = None
    latency_s: float | None = Field(default=None, alias="latencyS")
    model_latency_s: float | None = Field(default=None, alias="modelLatencyS")
    suites: list[SuiteView] = Field(default_factory=list)


class ContributionsView(View):
    """Points each part adds to the score (files before the breakdown have none: each part None)."""

    quality: float | None = None
    rating: float | None = None
    success: float | None = None
    retry: float | None = None
    memory: float | None = None
    latency: float | None = None


class CandidateView(View):
    config: str | None = None
    score: float | None = None
    contributions: ContributionsView = Field(default_factory=ContributionsView)


class TestView(View):
    """One test of the decision (a latency test: `inFamily` false, shown for reference)."""

    name: str | None = None
    test: str | None = None
    n: int | None = None
    diff: float | None = None
    ci: list[float | None] = Field(default_factory=_no_interval, min_length=2, max_length=2)
    p: float | None = None
    p_holm: float | None = Field(default=None, alias="pHolm")
    favours: str | None = None
    in_family: bool = Field(default=True, alias="inFamily")
    note: str | None = None


class MarginView(View):
    quality_diff: float | None = Field(default=None, alias="qualityDiff")
    ci: list[float | None] = Field(default_factory=_no_interval, min_length=2, max_length=2)
    threshold: float | None = None
    items_needed: dict[str, int | None] = Field(default_factory=dict, alias="itemsNeeded")
    enough_items: bool | None = Field(default=None, alias="enoughItems")
    met: bool | None = None


class DecisionView(View):
    incumbent: str | None = None
    incumbent_source: str | None = Field(default=None, alias="incumbentSource")
    challenger: str | None = None
    outcome: str | None = None
    reason: str | None = None
    alpha: float | None = None
    tests: list[TestView] = Field(default_factory=list)
    margin: MarginView | None = None


class CrossCheckView(View):
    config: str | None = None
    catches_main_mistakes: float | None = Field(default=None, alias="catchesMainMistakes")
    shared_mistakes: int | None = Field(default=None, alias="sharedMistakes")


class ExcludedView(View):
    config: str | None = None
    reason: str | None = None


class ContentionStepView(View):
    concurrent: int | None = None
    running: list[str] = Field(default_factory=list)
    ttft_s: float | None = Field(default=None, alias="ttftS")
    tokens_per_s: float | None = Field(default=None, alias="tokensPerS")
    ttft_slowdown: float | None = Field(default=None, alias="ttftSlowdown")
    tokens_per_s_slowdown: float | None = Field(default=None, alias="tokensPerSSlowdown")
    within: bool | None = None


class ContentionAloneView(View):
    ttft_s: float | None = Field(default=None, alias="ttftS")
    tokens_per_s: float | None = Field(default=None, alias="tokensPerS")
    probes: int | None = None


class ContentionView(View):
    measured: bool = False
    note: str | None = None
    main: str | None = None
    neighbours: list[str] = Field(default_factory=list)
    max_slowdown: float | None = Field(default=None, alias="maxSlowdown")
    alone: ContentionAloneView | None = None
    steps: list[ContentionStepView] = Field(default_factory=list)
    limit: int | None = None


class MeasurementView(View):
    machine: dict[str, Any] | None = None
    note: str | None = None
    speed: str | None = None
    probed_configs: int | None = Field(default=None, alias="probedConfigs")


class TierEvidenceView(View):
    """One tier's evidence; `main` None: the file has none for the tier (the template then shows the settings)."""

    memory_gb: int | None = Field(default=None, alias="memoryGB")
    budget_bytes: int | None = Field(default=None, alias="budgetBytes")
    main: MainView | None = None
    decision: DecisionView = Field(default_factory=DecisionView)
    pareto_front: list[str] = Field(default_factory=list, alias="paretoFront")
    cross_checks: list[CrossCheckView] = Field(default_factory=list, alias="crossChecks")
    candidates: list[CandidateView] = Field(default_factory=list)
    excluded: list[ExcludedView] = Field(default_factory=list)
    memory_bytes: dict[str, int | None] = Field(default_factory=dict, alias="memoryBytes")
    contention: ContentionView | None = None


class ModelView(View):
    name: str
    priority: int
    purpose: str
    parameters: dict[str, Any] = Field(default_factory=dict)
    preset: str | None = None


class TierView(View):
    memory_gb: int = Field(alias="memoryGB")
    models: list[ModelView] = Field(default_factory=list)
    execution_order: list[str] = Field(default_factory=list, alias="executionOrder")
    concurrent_limit: int | None = Field(default=None, alias="concurrentLimit")
    evidence: TierEvidenceView = Field(default_factory=TierEvidenceView)


class RuleView(View):
    """The decision rule's settings as the file recorded them ([recommend] of its day: other keys kept)."""

    alpha: float | None = None
    margin: float | None = None
    min_items: int | None = None
    rating_weight: float | None = None
    success_weight: float | None = None
    retry_weight: float | None = None
    memory_weight: float | None = None
    latency_per_doubling: float | None = None


class NotCountedView(View):
    suite: str | None = None
    reason: str | None = None


class ThinSuiteView(View):
    suite: str | None = None
    n: int | None = None
    min_items: int | None = Field(default=None, alias="minItems")


class UsageModelView(View):
    answers: int | None = None
    up: int | None = None
    down: int | None = None
    rating: float | None = None
    success: float | None = None
    retry: float | None = None


class UsageView(View):
    period: str | None = None
    events: int | None = None
    models: dict[str, UsageModelView] = Field(default_factory=dict)


class Summary(View):
    """The section as the template and report.json have it; `error` set: no readable settings file (the rest is
    then empty)."""

    path: str
    error: str | None = None
    version: str | None = None
    preview: bool = False
    updated_at: str | None = Field(default=None, alias="updatedAt")
    digest: str | None = None
    signed: bool = False
    tiers: list[TierView] = Field(default_factory=list)
    rule: RuleView = Field(default_factory=RuleView)
    counted_suites: list[str] = Field(default_factory=list, alias="countedSuites")
    not_counted: list[NotCountedView] = Field(default_factory=list, alias="notCounted")
    publishable: bool = True
    thin_suites: list[ThinSuiteView] = Field(default_factory=list, alias="thinSuites")
    usage_evidence: UsageView | None = Field(default=None, alias="usageEvidence")
    best_presets: dict[str, dict[str, str]] = Field(default_factory=dict, alias="bestPresets")
    measurement: MeasurementView | None = None
    update: dict[str, Any] | None = None  # the QuarterlyUpdate as the chat runtime reads it (its defaults filled)
    changelog: str | None = None

    def view(self) -> dict[str, Any]:
        """The section as JSON-ready data, every key present (None where a file has no value)."""
        return self.model_dump(by_alias=True, mode="json")
