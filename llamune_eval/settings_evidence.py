"""The `evidence` of a recommended-settings file, typed: what the decision rested on, per tier. `recommend` builds
the file from these models (snake_case here, camelCase on disk through the aliases) and the report reads a file's
evidence through them, so every field name is written once. It is part of the published JSON Schema
(`recommended/schema.json`). A leaf beside `settings` (which types `RecommendedSettings.evidence` with it), so the
chat runtime may import it: pydantic and the standard library only, built on first use."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from llamune_eval.types import MemorySource

# why a raced configuration stopped (`analysis.racing` decides, the file records it)
Reason = Literal["settled-worse", "cannot-replace", "settled-best", "complete", "budget", "fits-no-tier"]


class _Shape(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid", defer_build=True)


class SuiteEvidence(_Shape):
    suite: str
    metric: str
    value: float | None = None
    ci: list[float | None] = Field(min_length=2, max_length=2)
    n: int = Field(description="samples with a value: failed and unreadable answers count at the floor")
    errors: int
    parse_failures: int = Field(alias="parseFailures")
    pending: int = Field(description="answers still waiting for the judge (not counted)")
    suite_version: str = Field(alias="suiteVersion")
    template_version: str = Field(alias="templateVersion")
    items_for_5_points: int | None = Field(
        default=None, alias="itemsFor5Points", description="paired items needed to detect 5 points (80% power)"
    )
    lenient: float | None = Field(
        default=None, description="the same answers under the lenient scoring profile (value is strict)"
    )
    note: str | None = None


class DataEvidence(_Shape):
    suite: str
    origin: str = Field(
        description="real (an imported dataset), sample (hand-written), custom (a configured "
        "source) or unknown (a run from before this record)"
    )
    dataset: str | None = None
    digest: str | None = Field(default=None, description="sha256 over the dataset's files, as imported")
    licence: str | None = None
    items: int | None = None
    template_version: str | None = Field(default=None, alias="templateVersion")


class ConfigRace(_Shape):
    """Where a raced configuration stopped: its figures rest on `items` of the race's `total`, not on every item."""

    reason: Reason = Field(
        description="settled-worse (another configuration, `by`, is better), cannot-replace (cannot be shown "
        "better than the incumbent `by`), settled-best (left last: answered the items the decision needs), "
        "complete (answered every item), budget (stopped by the request budget) or fits-no-tier (its memory fits "
        "no tier, or is unknown: no decision can choose it, so it answered nothing)"
    )
    items: int = Field(ge=0, description="items the configuration answered")
    total: int = Field(ge=0, description="items in the race's order (what a full run answers)")
    by: str | None = Field(description="model:preset that settled it worse, or the incumbent it cannot replace")


class RaceEvidence(_Shape):
    """The quarter's race as a whole: what it spent against what a full run of the raced configurations costs."""

    seed: int = Field(description="the seed of the race's item order")
    budget: int | None = Field(description="requests the race could spend (null: no budget)")
    spent: int = Field(ge=0, description="requests the race spent, over every configuration")
    full: int = Field(ge=0, description="requests a full run makes: items in the order x raced configurations")


class ConfigEvidence(_Shape):
    config: str
    model: str
    preset: str
    quality: float
    components: dict[str, float] = Field(description="quality, rating, success, retry, memory: each on 0-1")
    contributions: dict[str, float] = Field(
        default_factory=dict, description="points each part adds to the score (latency negative); they sum to score"
    )
    merit: float
    latency_penalty: float = Field(alias="latencyPenalty")
    score: float
    latency_s: float | None = Field(default=None, alias="latencyS")
    model_latency_s: float | None = Field(
        default=None, alias="modelLatencyS", description="the model's median latency: what the latency penalty reads"
    )
    ttft_s: float | None = Field(default=None, alias="ttftS")
    tokens_per_s: float | None = Field(default=None, alias="tokensPerS")
    memory_bytes: int = Field(alias="memoryBytes")
    memory_source: MemorySource | None = Field(
        default=None,
        alias="memorySource",
        description="measured-rss (the embedded child's peak RSS), ollama-ps (Ollama's /api/ps), gguf-estimate "
        "(weights + KV cache from the GGUF header) or size-estimate (size x [recommend] size_factor)",
    )
    memory_num_ctx: int | None = Field(default=None, alias="memoryNumCtx", description="the context it was taken at")
    speed_source: str = Field(
        default="sweep",
        alias="speedSource",
        description="probe: ttftS, tokensPerS and latencyS from the measure stage's timed probes (the same "
        "conditions for every configuration); sweep: medians of the sweep's answers (not measured)",
    )
    speed_probes: int = Field(default=0, alias="speedProbes")
    suites: list[SuiteEvidence] = Field(default_factory=list)
    categories: dict[str, float] = Field(default_factory=dict)
    run_ids: list[str] = Field(default_factory=list, alias="runIds")
    race: ConfigRace | None = Field(default=None, description="null: the quarter was not raced")


class TestEvidence(_Shape):
    name: str
    test: str
    n: int
    diff: float | None = None
    ci: list[float | None] = Field(min_length=2, max_length=2)
    p: float | None = None
    p_holm: float | None = Field(default=None, alias="pHolm")
    favours: str | None = None
    in_family: bool = Field(default=True, alias="inFamily", description="false: reported, not evidence for a change")
    note: str | None = None


class MarginEvidence(_Shape):
    quality_diff: float | None = Field(default=None, alias="qualityDiff")
    ci: list[float | None] = Field(min_length=2, max_length=2)
    threshold: float
    items_needed: dict[str, int] = Field(alias="itemsNeeded")
    enough_items: bool = Field(alias="enoughItems")
    met: bool


class DecisionEvidence(_Shape):
    incumbent: str | None = None
    incumbent_source: str = Field(alias="incumbentSource")
    challenger: str | None = None
    outcome: str = Field(description="kept, replaced, first (no incumbent) or unchallenged")
    reason: str
    alpha: float
    tests: list[TestEvidence] = Field(default_factory=list)
    margin: MarginEvidence | None = None


class CrossCheckEvidence(_Shape):
    config: str
    catches_main_mistakes: float = Field(alias="catchesMainMistakes")
    shared_mistakes: int = Field(alias="sharedMistakes")


class Excluded(_Shape):
    config: str
    reason: str


class ContentionAlone(_Shape):
    ttft_s: float | None = Field(alias="ttftS")
    tokens_per_s: float | None = Field(alias="tokensPerS")
    probes: int


class ContentionStep(_Shape):
    concurrent: int = Field(description="models generating at once: the main one and its first cross-checks")
    running: list[str]
    ttft_s: float | None = Field(alias="ttftS")
    tokens_per_s: float | None = Field(alias="tokensPerS")
    probes: int
    ttft_slowdown: float | None = Field(alias="ttftSlowdown", description="the main model's TTFT against alone")
    tokens_per_s_slowdown: float | None = Field(
        alias="tokensPerSSlowdown", description="the main model's tokens/s alone against now"
    )
    within: bool = Field(description="both slowdowns at most maxSlowdown")


class ContentionEvidence(_Shape):
    """The contention check behind `concurrentLimit`: 1 + the largest step within maxSlowdown, every step below too."""

    measured: bool
    note: str | None = None
    main: str | None = None
    neighbours: list[str] = Field(default_factory=list)
    max_slowdown: float = Field(alias="maxSlowdown")
    alone: ContentionAlone | None = None
    steps: list[ContentionStep] = Field(default_factory=list)
    limit: int = Field(ge=1)


class TierEvidence(_Shape):
    memory_gb: int = Field(alias="memoryGB")
    budget_bytes: int = Field(alias="budgetBytes")
    main: ConfigEvidence
    decision: DecisionEvidence
    pareto_front: list[str] = Field(alias="paretoFront")
    cross_checks: list[CrossCheckEvidence] = Field(default_factory=list, alias="crossChecks")
    candidates: list[ConfigEvidence] = Field(default_factory=list)
    excluded: list[Excluded] = Field(default_factory=list)
    memory_bytes: dict[str, int] = Field(alias="memoryBytes")
    contention: ContentionEvidence | None = None


class GpuShape(_Shape):
    name: str
    memory_bytes: int | None = Field(default=None, alias="memoryBytes")


class MachineShape(_Shape):
    cpu: str
    cores: int
    memory_bytes: int | None = Field(default=None, alias="memoryBytes")
    gpus: list[GpuShape] = Field(default_factory=list)
    os: str = ""


class MeasurementEvidence(_Shape):
    machine: MachineShape | None = Field(description="the operator's machine the figures were taken on")
    note: str
    speed: str = Field(description="probe (the measure stage timed every configuration alike) or sweep")
    probed_configs: int = Field(alias="probedConfigs")


class UsageModelEvidence(_Shape):
    answers: int
    successes: int
    up: int
    down: int
    rating: float
    success: float
    retry: float
    retry_decisions: int = Field(alias="retryDecisions")


class UsageEvidence(_Shape):
    period: str = Field(description="the quarter whose chat usage counted, or 'all'")
    events: int
    models: dict[str, UsageModelEvidence] = Field(default_factory=dict)


class NotCounted(_Shape):
    suite: str
    reason: str


class Figure(_Shape):
    """An agreement figure with its interval at 1 - alpha (BCa bootstrap) and the answers it rests on."""

    value: float | None = None
    low: float | None = None
    high: float | None = None
    n: int = 0


# checked: the judge meets [judge] min_agreement; below-bar: it was checked and does not; unchecked: too few
# answers rated by people; not-required: [judge] require_checked = false (the suite counts unchecked)
JudgeStatus = Literal["checked", "below-bar", "unchecked", "not-required"]


class SuiteJudgeCheck(_Shape):
    """Whether a judged suite's scores count: its judge's Kendall tau-b with people, on the suite's own rated
    answers (`scope` suite) or, when it has fewer than `[judge] min_rated`, on every judged answer (all)."""

    suite: str
    status: JudgeStatus
    counted: bool
    scope: Literal["suite", "all"] | None = Field(default=None, description="null: no rated answer at all")
    kendall: Figure


class JudgeEvidence(_Shape):
    """The judge check behind the judged suites: the rule and each judged suite's figure."""

    require_checked: bool = Field(alias="requireChecked")
    min_agreement: float = Field(alias="minAgreement", description="Kendall tau-b's lower bound must exceed it")
    min_rated: int = Field(alias="minRated", description="answers rated by people and the judge, at least")
    level: float = Field(description="the intervals' level, 1 - alpha")
    rated_answers: int = Field(alias="ratedAnswers", description="judged answers people rated")
    raters: int
    suites: list[SuiteJudgeCheck]
    note: str | None = None


class ThinSuite(_Shape):
    """A counted suite on which a chosen configuration has fewer items than `[recommend] min_items`."""

    suite: str
    n: int
    min_items: int = Field(alias="minItems")


class EvidenceShape(_Shape):  # the file's `evidence` object; `analysis.Evidence` is the view it was written from
    rule: dict[str, Any] = Field(description="the decision rule's settings ([recommend])")
    counted_suites: list[str] = Field(alias="countedSuites")
    not_counted: list[NotCounted] = Field(default_factory=list, alias="notCounted")
    publishable: bool
    thin_suites: list[ThinSuite] = Field(default_factory=list, alias="thinSuites")
    usage: UsageEvidence
    data: list[DataEvidence] = Field(default_factory=list, description="the data each counted suite ran on")
    tiers: list[TierEvidence]
    best_presets: dict[str, dict[str, str]] = Field(default_factory=dict, alias="bestPresets")
    raced: bool = Field(default=False, description="configurations stopped once the decision no longer needed them")
    race: RaceEvidence | None = Field(default=None, description="null: the quarter was not raced")
    measurement: MeasurementEvidence | None = None
    judge: JudgeEvidence | None = Field(default=None, description="null: no judged suite in the quarter")

    def tier(self, memory_gb: int) -> TierEvidence | None:
        """The tier's evidence (None: the file has none for it)."""
        return next((t for t in self.tiers if t.memory_gb == memory_gb), None)
