"""One typed view of the evidence, read once from the store and shared by `results`, `compare`, `recommend` and the
report: per suite x configuration its headline with interval and counts, per configuration its parameters,
speed and quality, and every sample's value as its benchmark defines it.

The samples are the store's one selection (`store.selection`); the per-sample values, right/wrong, intervals and
paired tests are the benchmarks' own rules (`benchmarks._rules`). Nothing here re-defines either.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from llamune_eval.analysis.speed import speeds
from llamune_eval.benchmarks import Observed, Task, task_for
from llamune_eval.benchmarks._suite import LENIENT
from llamune_eval.config import ALPHA, Config
from llamune_eval.presets import Preset
from llamune_eval.store import measures
from llamune_eval.store.races import RaceRow, race_rows
from llamune_eval.store.results import Store
from llamune_eval.store.selection import SampleRow, current_samples, judge_shares, scores_of
from llamune_eval.types import Footprint, SamplingParams, Timing

if TYPE_CHECKING:
    from llamune_eval.analysis.judge_check import JudgeValidation

LENIENT_OK = f"{LENIENT}parse_ok"
ConfigKey = tuple[str, str]  # (model, preset)
PairKey = tuple[str, int]  # (item id, repeat)


@dataclass
class SuiteStat:
    """One suite for one configuration. Failed and unreadable answers are values at the floor and count in `n`;
    answers waiting for the judge are `pending` and count nowhere else."""

    suite: str
    kind: str
    metric: str
    category: str
    value: float | None
    unit: float | None
    n: int
    samples: int
    errors: int
    parse_failures: int
    pending: int
    tokens_per_s: float | None
    suite_version: str
    template_version: str
    others: dict[str, float | None] = field(default_factory=dict)
    note: str | None = None
    lenient: float | None = None  # the headline under the lenient profile (strict is `value`)
    lenient_parse_failures: int = 0
    by_category: dict[str, float] = field(default_factory=dict)  # mean value per item category (MT-Bench's)
    values: dict[PairKey, float] = field(default_factory=dict, repr=False)
    latencies: dict[PairKey, float] = field(default_factory=dict, repr=False)
    observed: dict[PairKey, Observed] = field(default_factory=dict, repr=False)
    task: Task | None = field(default=None, repr=False)
    seed: int = 0
    _ci: tuple[float | None, float | None] | None = field(default=None, repr=False)

    def interval(self) -> tuple[float | None, float | None]:
        """The headline's 95% interval, by the benchmark's rule; computed where it is first shown."""
        if self._ci is None:
            ok = self.value is not None and self.task is not None
            self._ci = self.task.interval(list(self.observed.values()), self.seed) if ok and self.task else (None, None)
        return self._ci

    @property
    def low(self) -> float | None:
        return self.interval()[0]

    @property
    def high(self) -> float | None:
        return self.interval()[1]

    @property
    def error_rate(self) -> float:
        return self.errors / self.samples if self.samples else 0.0

    @property
    def parse_fail_rate(self) -> float:
        answered = self.samples - self.errors - self.pending
        return self.parse_failures / answered if answered > 0 else 0.0

    @property
    def lenient_parse_fail_rate(self) -> float:
        answered = self.samples - self.errors - self.pending
        return self.lenient_parse_failures / answered if answered > 0 else 0.0

    @property
    def gap(self) -> float | None:
        """strict minus lenient: what following the answer format costs (0 for single-profile suites)."""
        return None if self.value is None or self.lenient is None else self.value - self.lenient


@dataclass
class ConfigStat:
    """A model x preset: the preset's own parameters (never a suite's answer cap), speed, and its suites."""

    model: str
    preset: str
    params: SamplingParams | None
    params_note: str | None
    suites: dict[str, SuiteStat]
    latency_s: float | None
    ttft_s: float | None
    tokens_per_s: float | None
    samples: int
    run_ids: set[str]
    queue_s: float | None = None  # median wait for a free engine slot (Ollama), kept out of ttft_s and latency_s
    race: RaceRow | None = None  # a raced quarter: the items it answered and why it stopped
    # where ttft_s, tokens_per_s and latency_s come from: "probe" (the measure stage, the same conditions for every
    # configuration; latency_s is then an answer of the median sweep length at that speed) or "sweep" (not measured)
    speed_source: str = "sweep"
    probes: int = 0

    @property
    def label(self) -> str:
        return f"{self.model}:{self.preset}"


def _median(values: Iterable[float | None]) -> float | None:
    got = [v for v in values if v]
    return statistics.median(got) if got else None


def preset_params(
    rows: list[SampleRow], preset: str, presets: dict[str, Preset]
) -> tuple[SamplingParams | None, str | None]:
    """The configuration's parameters: the preset as the newest sample recorded it, else as llamune.toml has it."""
    recorded = [r for r in rows if r.preset_params]
    if recorded:
        newest = max(recorded, key=lambda r: str(r.created_at))
        try:
            return SamplingParams.model_validate_json(newest.preset_params or ""), None
        except ValidationError:
            pass
    if preset in presets:
        return presets[preset].params, "parameters from the preset's current definition (not recorded with samples)"
    return None, f"the parameters of preset {preset!r} are unknown (not recorded, not defined in llamune.toml)"


class Evidence:
    """The quarter's evidence. Build it with `Evidence.load(store, quarter)`."""

    def __init__(
        self,
        rows: list[SampleRow],
        values: dict[str, dict[str, float]],
        *,
        quarter: str | None = None,
        presets: dict[str, Preset] | None = None,
        seed: int = 0,
        alpha: float = ALPHA,
    ) -> None:
        # alpha: `[recommend] alpha`, the level of every test and interval read from this evidence (the family, the
        # paired tests' intervals, the quality interval, the power figure, the report's marks)
        self.rows, self.quarter, self.seed, self.alpha = rows, quarter, seed, alpha
        self.races: list[RaceRow] = []  # a raced quarter's stops, every configuration's (store/races.py)
        self.footprints: list[Footprint] = []  # the measure stage's memory figures (store/measures.py)
        self.memo: dict[Any, Any] = {}  # comparisons already made (every tier compares the same pairs)
        self.judge: JudgeValidation | None = None  # the judge check (`for_quarter`): judged suites it refuses
        self.observed: dict[str, Observed] = {}
        self.lenient: dict[str, Observed] = {}  # only samples scored under a separate lenient profile
        for r in rows:
            strict, lenient = _profiles(values.get(r.key, {}))
            self.observed[r.key] = _observe(r, strict)
            if lenient is not None:
                self.lenient[r.key] = _observe(r, lenient)
        self.kinds = {r.suite: r.kind for r in rows}
        self.categories = {r.suite: r.category or "general" for r in rows}
        self.configs: dict[ConfigKey, ConfigStat] = {}
        per_model: dict[str, list[float | None]] = {}
        for r in rows:
            if r.ok:
                per_model.setdefault(r.model, []).append(r.latency_s)
        # presets of one model answer benchmark requests at one speed (the suite caps the answer's length); per
        # configuration the medians differ mostly by run order, the engine's prompt cache serving later presets
        self.model_latency = {m: _median(v) for m, v in per_model.items()}
        by_config: dict[ConfigKey, list[SampleRow]] = {}
        for r in rows:
            by_config.setdefault(r.config, []).append(r)
        for (model, preset), members in sorted(by_config.items()):
            params, note = preset_params(members, preset, presets or {})
            ok = [r for r in members if r.ok]
            self.configs[(model, preset)] = ConfigStat(
                model,
                preset,
                params,
                note,
                self._suites(members),
                _median(r.latency_s for r in ok),
                _median(r.ttft_s for r in ok),
                _median(r.tokens_per_s for r in ok),
                len(members),
                {r.run_id for r in members if r.run_id},
                _median(r.queue_s for r in ok) if any(r.queue_s is not None for r in ok) else None,
            )

    @classmethod
    def load(
        cls,
        store: Store,
        quarter: str | None = None,
        *,
        presets: dict[str, Preset] | None = None,
        keys: set[str] | None = None,
        seed: int = 0,
        alpha: float = ALPHA,
        texts: bool = False,
    ) -> Evidence:
        """The store's selection for `quarter` (restricted to a run's `keys` when given), scored and judged;
        with `texts`, the prompts and answers too (the report's sample browser shows them)."""
        rows = current_samples(store, quarter, texts=texts)
        if keys is not None:
            rows = [r for r in rows if r.key in keys]
        values = scores_of(store, [r.key for r in rows if r.ok])
        shares = judge_shares(store)
        for r in rows:
            if r.key in shares:
                values.setdefault(r.key, {})["judge"] = shares[r.key]
        ev = cls(rows, values, quarter=quarter, presets=presets, seed=seed, alpha=alpha)
        ev.timed(measures.timings(store, quarter, "speed"))
        ev.footprints = measures.footprints(store, quarter)
        ev.races = race_rows(store, quarter)
        for row in ev.races:
            if (row.model, row.preset) in ev.configs:
                ev.configs[(row.model, row.preset)].race = row
        return ev

    def timed(self, timings: list[Timing]) -> None:
        """Take each configuration's speed from its timed probes where the measure stage ran."""
        lengths: dict[ConfigKey, list[float | None]] = {}
        for r in self.rows:
            if r.ok:
                lengths.setdefault(r.config, []).append(float(r.completion_tokens or 0) or None)
        for key, speed in speeds(timings).items():
            c = self.configs.get(key)
            if c is None or speed.ttft_s is None:
                continue
            c.ttft_s, c.tokens_per_s = speed.ttft_s, speed.tokens_per_s
            c.latency_s = speed.latency(_median(lengths.get(key, []))) or c.latency_s
            c.speed_source, c.probes = "probe", speed.probes

    @property
    def raced(self) -> bool:
        """The quarter was raced: some configurations stopped before the items ran out."""
        return any(c.race is not None for c in self.configs.values())

    @classmethod
    def for_quarter(cls, store: Store, cfg: Config, quarter: str | None, *, texts: bool = False) -> Evidence:
        """The evidence as the decision and the report read it: the config's presets, seed and alpha."""
        from llamune_eval.presets import catalogue

        presets, seed, alpha = catalogue(cfg.presets), cfg.run.seed, cfg.recommend.alpha
        ev = cls.load(store, quarter, presets=presets, seed=seed, alpha=alpha, texts=texts)
        ev.check_judge(store, cfg)
        return ev

    def check_judge(self, store: Store, cfg: Config) -> None:
        """The judge checked against people (`analysis.judge_check`): a judged suite it refuses is not counted."""
        from llamune_eval.analysis.judge_check import check  # numpy: not on the sweep's path to its first request

        judged = self.judged_suites()
        if judged:
            keys = {r.key for r in self.rows}
            self.judge = check(store, cfg.judge, keys, judged, alpha=self.alpha, seed=self.seed)
            self.memo.pop("counted", None)

    def judged_suites(self) -> list[str]:
        """Suites with answers graded by the judge."""
        return sorted({r.suite for r in self.rows if r.pending_judge})

    def task(self, suite: str) -> Task:
        return task_for(self.kinds.get(suite, "inhouse"))

    def _suites(self, members: list[SampleRow]) -> dict[str, SuiteStat]:
        by_suite: dict[str, list[SampleRow]] = {}
        for r in members:
            by_suite.setdefault(r.suite, []).append(r)
        out = {}
        for suite, rows in sorted(by_suite.items()):
            task = self.task(suite)
            observed = [self.observed[r.key] for r in rows]
            head = task.headline(observed)
            lenient_head = head.value
            if any(r.key in self.lenient for r in rows):
                lenient_head = task.headline([self.lenient.get(r.key, self.observed[r.key]) for r in rows]).value
            values: dict[PairKey, float] = {}
            for r, o in zip(rows, observed, strict=True):
                value = task.value(o)
                if value is not None:
                    values[r.pair_key] = value
            ok = [r for r in rows if r.ok]
            out[suite] = SuiteStat(
                suite=suite,
                kind=rows[0].kind,
                metric=head.metric,
                category=self.categories[suite],
                value=head.value,
                unit=task.unit(head.value),
                n=len(values),
                samples=len(rows),
                errors=len(rows) - len(ok),
                parse_failures=sum(1 for r in ok if r.parse_ok is False and not r.pending_judge),
                pending=len(ok) - sum(1 for r in ok if r.pair_key in values),
                tokens_per_s=_median(r.tokens_per_s for r in ok),
                suite_version=rows[0].suite_version or "",
                template_version=rows[0].template_version or "",
                others=head.others,
                note=head.note,
                values=values,
                latencies={r.pair_key: r.latency_s for r in ok if r.latency_s},
                observed={r.pair_key: o for r, o in zip(rows, observed, strict=True)},
                task=task,
                seed=self.seed,
                lenient=lenient_head,
                by_category=_by_category(rows, values),
                lenient_parse_failures=sum(1 for r in ok if not r.pending_judge and self._lenient_failed(r)),
            )
        return out

    def _lenient_failed(self, row: SampleRow) -> bool:
        lenient = self.lenient.get(row.key)
        return row.parse_ok is False if lenient is None else lenient.values.get("parse_ok", 1.0) == 0.0

    # views
    def suites(self) -> list[str]:
        return sorted(self.kinds)

    def counted_suites(self) -> list[str]:
        """Suites with a value for at least one configuration (a suite waiting only for the judge counts for
        nobody yet), less the judged suites whose judge the check refused."""
        if "counted" not in self.memo:
            refused = self.judge.refused() if self.judge is not None else {}
            self.memo["counted"] = [
                s
                for s in self.suites()
                if s not in refused
                and any(c.suites.get(s) and c.suites[s].unit is not None for c in self.configs.values())
            ]
        return list(self.memo["counted"])

    def missing(self, config: ConfigStat, suites: Iterable[str] | None = None) -> list[str]:
        """The counted suites this configuration has no value on: it cannot be compared on them."""
        wanted = self.counted_suites() if suites is None else suites
        return [s for s in wanted if config.suites.get(s) is None or config.suites[s].unit is None]

    def quality(self, config: ConfigStat, suites: Iterable[str] | None = None) -> float | None:
        """Mean over the counted suites of the headline on 0..1; None when a counted suite has no value."""
        wanted = list(self.counted_suites() if suites is None else suites)
        units = [config.suites[s].unit for s in wanted if s in config.suites]
        if not wanted or len(units) != len(wanted) or any(u is None for u in units):
            return None
        return statistics.fmean(u for u in units if u is not None)

    def value(self, row: SampleRow) -> float | None:
        return self.task(row.suite).value(self.observed[row.key])

    def verdict(self, row: SampleRow) -> str:
        """right, wrong, error or pending (an unreadable answer is wrong)."""
        if not row.ok:
            return "error"
        value = self.value(row)
        if value is None:
            return "pending"
        return "right" if self.task(row.suite).right(value) else "wrong"

    def right(self, config: ConfigStat, suites: Iterable[str]) -> dict[tuple[str, str, int], bool]:
        """(suite, item, repeat) -> right, for the items of `suites` (cross-checks catch the main one's misses)."""
        out: dict[tuple[str, str, int], bool] = {}
        for s in suites:
            stat = config.suites.get(s)
            if stat is not None:
                task = self.task(s)
                out |= {(s, item, repeat): task.right(v) for (item, repeat), v in stat.values.items()}
        return out

    def category_quality(self, config: ConfigStat) -> dict[str, float]:
        """Task category (the suites') -> mean headline on 0..1 of the counted suites in it."""
        per: dict[str, list[float]] = {}
        for s in self.counted_suites():
            stat = config.suites.get(s)
            if stat is not None and stat.unit is not None:
                per.setdefault(stat.category, []).append(stat.unit)
        return {c: statistics.fmean(v) for c, v in sorted(per.items())}


def _by_category(rows: list[SampleRow], values: dict[PairKey, float]) -> dict[str, float]:
    per: dict[str, list[float]] = {}
    for r in rows:
        if r.item_category and r.pair_key in values:
            per.setdefault(r.item_category, []).append(values[r.pair_key])
    return {c: statistics.fmean(v) for c, v in sorted(per.items())}


def _profiles(values: dict[str, float]) -> tuple[dict[str, float], dict[str, float] | None]:
    """The strict values and the lenient ones (`lenient.<name>` in the store; None when scored one way only). The
    judges' share counts under both."""
    if LENIENT_OK not in values:  # every lenient score carries it
        return values, None
    strict = {k: v for k, v in values.items() if not k.startswith(LENIENT)}
    lenient = {k.removeprefix(LENIENT): v for k, v in values.items() if k.startswith(LENIENT)}
    if "judge" in strict:
        lenient["judge"] = strict["judge"]
    return strict, lenient


def _observe(row: SampleRow, values: dict[str, float]) -> Observed:
    return observe(values, row.ok, bool(row.pending_judge), row.reference)


def observe(values: dict[str, float], ok: bool, pending: bool, reference: str | None) -> Observed:
    """What the benchmark's rules read of one sample: its strict values, and its item's reference as stored (JSON
    text), which only a benchmark's own rules interpret."""
    strict, _ = _profiles(values)
    return Observed(strict, ok=ok, pending=pending, reference=reference)
