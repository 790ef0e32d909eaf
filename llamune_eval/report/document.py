"""`report.json`, typed: what `collect` builds, what `report.json` holds (dumped by alias) and what the next
quarter's report reads back (`history`). Its JSON Schema is published as `reports/schema.json`.

The version (`schema`) is matched exactly. A file of an older version is read through `upgrade`, the one place
that knows the older shapes; a version this release does not know is not read. Keys added under the current version
after a file was written take their defaults (the sections empty), so an earlier report of this version reads too.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, ValidationError

from llamune_eval.config import ALPHA
from llamune_eval.report.figures import JudgeSection, UsageSection
from llamune_eval.report.figures import Part as _Part
from llamune_eval.report.summary_shapes import ContentionView, Summary
from llamune_eval.settings_evidence import DataEvidence

REPORT_VERSION = "llamune-report-2"  # 2: the judge checked against people (judge.validation); figures.human gone
OLDER_VERSIONS: tuple[str, ...] = ("llamune-report-1",)  # versions `upgrade` reads
SCHEMA_URL = "https://json-schema.org/draft/2020-12/schema"


def _no_interval() -> list[float | None]:
    return [None, None]


class Counts(_Part):
    samples: int
    errors: int
    suites: int
    configs: int
    models: int


class VsBest(_Part):
    """The row against its suite's best configuration: the benchmark's paired test, Holm-corrected in the suite."""

    best: bool
    n: int | None = None
    diff: float | None = None
    p: float | None = None
    p_holm: float | None = Field(default=None, alias="pHolm")
    worse: bool = False


class LeaderboardRow(_Part):
    model: str
    preset: str
    metric: str | None = None
    value: float | None = None
    ci: list[float | None] = Field(default_factory=_no_interval, min_length=2, max_length=2)
    n: int | None = None
    errors: int | None = None
    error_rate: float | None = Field(default=None, alias="errorRate")
    parse_fail_rate: float | None = Field(default=None, alias="parseFailRate")
    pending_judge: int | None = Field(default=None, alias="pendingJudge")
    tokens_per_s: float | None = Field(default=None, alias="tokensPerS")
    unit: float | None = Field(default=None, description="the value on 0..1 (what the trend compares)")
    note: str | None = None
    others: dict[str, float | None] = Field(default_factory=dict)
    lenient: float | None = None
    gap: float | None = None
    lenient_parse_fail_rate: float | None = Field(default=None, alias="lenientParseFailRate")
    by_category: dict[str, float] = Field(default_factory=dict, alias="byCategory")
    template_version: str | None = Field(default=None, alias="templateVersion")
    vs_best: VsBest | None = Field(default=None, alias="vsBest")


class LeaderboardSuite(_Part):
    suite: str
    kind: str | None = None
    metric: str | None = None
    range: list[float] = Field(default_factory=lambda: [0.0, 1.0])
    rows: list[LeaderboardRow] = Field(default_factory=list)
    best: str | None = None


class ConfigPoint(_Part):
    label: str
    model: str
    preset: str
    quality: float | None = None
    quality_note: str | None = Field(default=None, alias="qualityNote")
    suites: int | None = None
    tokens_per_s: float | None = Field(default=None, alias="tokensPerS")
    ttft_s: float | None = Field(default=None, alias="ttftS")
    latency_s: float | None = Field(default=None, alias="latencyS")
    samples: int | None = None
    queue_s: float | None = Field(default=None, alias="queueS")
    speed_source: str | None = Field(default=None, alias="speedSource")
    probes: int | None = None
    pareto_tokens_per_s: bool = Field(default=False, alias="paretoTokensPerS")
    pareto_ttft: bool = Field(default=False, alias="paretoTtft")


class MemoryRow(_Part):
    model: str
    size_bytes: int | None = Field(default=None, alias="sizeBytes")
    parameter_count: int | None = Field(default=None, alias="parameterCount")
    quantization: str | None = None
    family: str | None = None
    num_ctx: int | None = Field(default=None, alias="numCtx")
    need_bytes: int | None = Field(default=None, alias="needBytes")
    vram_bytes: int | None = Field(default=None, alias="vramBytes")
    source: str | None = None
    detail: str | None = None
    estimate_bytes: int | None = Field(default=None, alias="estimateBytes")


class ContentionCheck(ContentionView):
    """A settings file's contention check as its evidence has it (read leniently: any release's file), with the
    tiers that share it (those that run the same models)."""

    tiers: list[int] = Field(default_factory=list)


class HeatCell(_Part):
    unit: float | None = None
    value: float | None = None


class Heatmap(_Part):
    suites: list[str] = Field(default_factory=list)
    metrics: list[str | None] = Field(default_factory=list)
    configs: list[str] = Field(default_factory=list)
    cells: list[list[HeatCell | None]] = Field(default_factory=list)


class EffectCell(_Part):
    preset: str
    suite: str
    delta: float | None = None
    n: int | None = None
    p: float | None = None
    p_holm: float | None = Field(default=None, alias="pHolm")
    significant: bool = False


class PresetEffect(_Part):
    model: str
    base: str
    presets: list[str] = Field(default_factory=list)
    cells: list[EffectCell] = Field(default_factory=list)


class RaceConfig(_Part):
    config: str
    model: str
    preset: str
    reason: str
    label: str
    items: int
    total: int
    share: float | None = None
    by: str | None = None


class RaceSection(_Part):
    seed: int
    budget: int | None = None
    spent: int
    full: int
    ratio: float | None = None
    configs: list[RaceConfig] = Field(default_factory=list)


class Regression(_Part):
    suite: str
    item: str
    repeat: int
    config: str
    before: str
    after: str


class History(_Part):
    quarters: list[str] = Field(default_factory=list)
    common_suites: list[str] = Field(default_factory=list, alias="commonSuites")
    trend: dict[str, list[float | None]] = Field(default_factory=dict)
    previous: str | None = None
    regressions: list[Regression] = Field(default_factory=list)
    improved: int = 0
    regressed_count: int = Field(default=0, alias="regressedCount")


# items: [suite index, item id, repeat, prompt, reference, eval aspect]
BrowserItem = tuple[int, str, int, str, str, str]
# answers: [item index, config index, verdict (r/w/e/p), value, answer, parsed, error]
BrowserAnswer = tuple[int, int, str, float | None, str, str, str]


class Browser(_Part):
    """The sample browser's compact arrays (`report.browser`)."""

    suites: list[str] = Field(default_factory=list)
    configs: list[str] = Field(default_factory=list)
    items: list[BrowserItem] = Field(default_factory=list)
    answers: list[BrowserAnswer] = Field(default_factory=list)


class Report(_Part):
    """The whole of `report.json`; the HTML is rendered from its dump."""

    schema_: str = Field(alias="schema", description=f"the file's version: {REPORT_VERSION}")
    quarter: str
    generated_at: str = Field(alias="generatedAt")
    alpha: float = Field(
        default=ALPHA,
        description="the level of the report's marks (▼, *) and of its difference intervals: [recommend] alpha",
    )
    # the raw boundary: the store's `runs` rows as recorded (their plan and suites are the run's own JSON)
    runs: list[dict[str, Any]] = Field(default_factory=list, description="the store's runs, as recorded")
    counts: Counts | None = None
    counted_suites: list[str] = Field(default_factory=list, alias="countedSuites")
    data: list[DataEvidence] = Field(default_factory=list)
    summary: Summary | None = None
    race: RaceSection | None = None
    leaderboard: list[LeaderboardSuite] = Field(default_factory=list)
    configs: list[ConfigPoint] = Field(default_factory=list)
    memory: list[MemoryRow] = Field(default_factory=list)
    contention: list[ContentionCheck] = Field(
        default_factory=list, description="the settings file's contention checks, with the tiers sharing each"
    )
    heatmap: Heatmap = Field(default_factory=Heatmap)
    preset_effect: list[PresetEffect] = Field(default_factory=list, alias="presetEffect")
    judge: JudgeSection | None = Field(default=None, description="judge reliability figures (null: no judgements)")
    usage: UsageSection | None = Field(default=None, description="chat usage metrics (null: no usage)")
    history: History = Field(default_factory=History)
    browser: Browser = Field(default_factory=Browser)

    def content(self) -> dict[str, Any]:
        """report.json's content: camelCase names, every key present."""
        return self.model_dump(by_alias=True)


def upgrade(raw: object) -> Report | None:
    """An earlier `report.json` as this release's `Report`, or None when it cannot be read: the one place older
    versions are read. The version must match exactly (`REPORT_VERSION`, or one of `OLDER_VERSIONS`, which would
    be converted here); an unknown version, a foreign file or one that does not fit is skipped, never guessed at."""
    if not isinstance(raw, dict):
        return None
    version = raw.get("schema")
    if version not in (REPORT_VERSION, *OLDER_VERSIONS):
        return None
    if version == "llamune-report-1":  # its judge figures held a ratings file's agreement, now judge.validation
        judge = raw.get("judge")
        figures = judge.get("figures") if isinstance(judge, dict) else None
        raw = raw | {"schema": REPORT_VERSION}
        if isinstance(figures, dict) and "human" in figures:
            raw["judge"] = judge | {"figures": {k: v for k, v in figures.items() if k != "human"}}  # type: ignore[operator]
    try:
        return Report.model_validate(raw)
    except ValidationError:
        return None


def json_schema() -> dict[str, Any]:
    """`reports/schema.json`: the JSON Schema (2020-12) of report.json."""
    return {"$schema": SCHEMA_URL, "title": "llamune report.json", **Report.model_json_schema(by_alias=True)}
