"""The report's content as data: leaderboard with significance against the best configuration, quality against
speed with the Pareto front, memory, heat map, preset effects, judge reliability, usage and a raced quarter's race.
`report --format json` writes exactly this; the HTML is rendered from it."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

from llamune_eval.analysis import Evidence
from llamune_eval.analysis.judge_check import JudgeValidation, figure
from llamune_eval.analysis.pairs import apply_holm, paired, significant
from llamune_eval.analysis.pareto import front
from llamune_eval.benchmarks import PairedTest
from llamune_eval.config import Config, UsageTargets
from llamune_eval.report.document import (
    REPORT_VERSION,
    ConfigPoint,
    ContentionCheck,
    Counts,
    EffectCell,
    HeatCell,
    Heatmap,
    LeaderboardRow,
    LeaderboardSuite,
    MemoryRow,
    PresetEffect,
    Report,
)
from llamune_eval.report.figures import (
    AgreementRow,
    JudgeFigures,
    JudgeScore,
    JudgeSection,
    RatedPoint,
    SmallJudge,
    UsageSection,
    Validation,
)
from llamune_eval.report.summary_shapes import Summary
from llamune_eval.store.results import Store

SCHEMA_VERSION = REPORT_VERSION  # report.json's version, matched exactly when read back (`report.document`)


def leaderboard_section(ev: Evidence) -> list[LeaderboardSuite]:
    """Per suite: every configuration with its interval, and the paired test against the suite's best one
    (Holm-corrected within the suite)."""
    out = []
    for suite in ev.suites():
        stats = [(c, c.suites[suite]) for c in ev.configs.values() if suite in c.suites]
        entries: list[dict[str, Any]] = []
        for c, st in stats:
            entries.append(
                {
                    "model": c.model,
                    "preset": c.preset,
                    "metric": st.metric,
                    "value": st.value,
                    "ci": [st.low, st.high],
                    "n": st.n,
                    "errors": st.errors,
                    "errorRate": st.error_rate,
                    "parseFailRate": st.parse_fail_rate,
                    "pendingJudge": st.pending,
                    "tokensPerS": st.tokens_per_s,
                    "unit": st.unit,
                    "note": st.note,
                    "others": st.others,
                    "lenient": st.lenient,
                    "gap": st.gap,
                    "lenientParseFailRate": st.lenient_parse_fail_rate,
                    "byCategory": st.by_category,
                    "templateVersion": st.template_version,
                }
            )
        scored = sorted((e for e in entries if e["value"] is not None), key=lambda e: -e["value"])
        best = scored[0] if scored else None
        tests: list[tuple[dict[str, Any], PairedTest]] = []
        for (c, _), e in zip(stats, entries, strict=True):
            # every key on every row (the best one and an untested one too): the template reads them strictly
            e["vsBest"] = {"best": e is best, "n": None, "diff": None, "p": None, "pHolm": None, "worse": False}
            if best is None or e is best:
                continue
            leader = ev.configs[(best["model"], best["preset"])]
            t = paired(ev, suite, c, leader)
            e["vsBest"] |= {"n": t.n, "diff": t.diff, "p": t.p}
            if t.p is not None:
                tests.append((e, t))
        apply_holm([t for _, t in tests])
        for e, t in tests:
            e["vsBest"] |= {
                "pHolm": t.p_holm,
                "worse": bool(significant(t.p_holm, ev.alpha)) and (t.diff or 0) < 0,
            }
        entries.sort(key=lambda e: (e["value"] is None, -(e["value"] or 0)))
        out.append(
            LeaderboardSuite(
                suite=suite,
                kind=ev.kinds[suite],
                metric=entries[0]["metric"],
                range=list(ev.task(suite).value_range),  # the benchmark's own: the template draws on it
                rows=[LeaderboardRow.model_validate(e) for e in entries],
                best=f"{best['model']}:{best['preset']}" if best else None,
            )
        )
    return out


def configs_section(ev: Evidence) -> list[ConfigPoint]:
    """One point per model x preset: quality over the counted suites, median tokens/s, TTFT and latency; Pareto
    flags (quality against tokens/s, and against TTFT)."""
    counted = ev.counted_suites()
    points = []
    for c in ev.configs.values():
        quality = ev.quality(c, counted)
        missing = ev.missing(c, counted)
        points.append(
            ConfigPoint(
                label=c.label,
                model=c.model,
                preset=c.preset,
                quality=quality,
                quality_note=f"no value on {', '.join(missing)}" if missing else None,
                suites=len(counted) - len(missing),
                tokens_per_s=c.tokens_per_s,
                ttft_s=c.ttft_s,
                latency_s=c.latency_s,
                samples=c.samples,
                queue_s=c.queue_s,
                speed_source=c.speed_source,
                probes=c.probes,
            )
        )
    fast = {p.label for p in front(points, lambda p: (p.quality, p.tokens_per_s))}
    quick = {p.label for p in front(points, lambda p: (p.quality, None if p.ttft_s is None else -p.ttft_s))}
    for p in points:
        p.pareto_tokens_per_s = p.label in fast
        p.pareto_ttft = p.label in quick
    return points


def memory_section(store: Store, cfg: Config, ev: Evidence) -> list[MemoryRow]:
    """Per model and context its presets use: the memory figure the decision reads, and where it came from."""
    from llamune_eval.analysis.memory import Memory, context_of, parameter_count
    from llamune_eval.store.selection import model_facts

    facts = model_facts(store)
    memory = Memory.of_config(cfg, facts, ev.footprints)
    contexts = sorted({(c.model, context_of(c.params)) for c in ev.configs.values()})
    out = []
    for model, ctx in contexts:
        f = facts.get(model)
        fp = memory.of(model, ctx)
        estimate = None
        if fp is not None and fp.source in ("measured-rss", "ollama-ps") and model in memory.files:
            from llamune_eval.analysis.memory import gguf_estimate

            guess = gguf_estimate(model, memory.files[model], ctx, memory.cache_type)
            estimate = guess.bytes if guess else None
        out.append(
            MemoryRow(
                model=model,
                size_bytes=(f.size_bytes if f else None) or memory.sizes.get(model),
                parameter_count=parameter_count(f),
                quantization=f.quantization if f else None,
                family=f.family if f else None,
                num_ctx=ctx,
                need_bytes=fp.bytes if fp else None,
                vram_bytes=fp.vram_bytes if fp else None,
                source=fp.source if fp else None,
                detail=fp.detail if fp else None,
                estimate_bytes=estimate,
            )
        )
    return out


def contention_section(summary: Summary) -> list[ContentionCheck]:
    """The settings file's contention checks, one per set of models (tiers that run the same set share it)."""
    out: dict[str, ContentionCheck] = {}
    for tier in summary.tiers:
        c = tier.evidence.contention
        if c is None:
            continue
        # a measured check is shared by the tiers that run the same models; an unmeasured one stays the tier's
        key = " + ".join([str(c.main), *c.neighbours]) if c.measured else str(tier.memory_gb)
        if key not in out:
            out[key] = ContentionCheck.model_validate(c.model_dump(by_alias=True) | {"tiers": []})
        out[key].tiers.append(tier.memory_gb)
    return list(out.values())


def heatmap_section(board: list[LeaderboardSuite], configs: list[ConfigPoint]) -> Heatmap:
    labels = [c.label for c in configs]
    cells = []
    for suite in board:
        by = {f"{e.model}:{e.preset}": e for e in suite.rows}
        cells.append([HeatCell(unit=by[c].unit, value=by[c].value) if c in by else None for c in labels])
    return Heatmap(suites=[s.suite for s in board], metrics=[s.metric for s in board], configs=labels, cells=cells)


def preset_effect_section(ev: Evidence, board: list[LeaderboardSuite]) -> list[PresetEffect]:
    """Per model with several presets: each preset against the model's baseline (balanced, else the first), per
    suite, with the benchmark's paired test Holm-corrected within the model."""
    presets: dict[str, list[str]] = {}
    for model, preset in ev.configs:
        presets.setdefault(model, []).append(preset)
    out = []
    for model, names in sorted(presets.items()):
        if len(names) < 2:
            continue
        base = "balanced" if "balanced" in names else names[0]
        cells: list[EffectCell] = []
        tests: list[tuple[EffectCell, PairedTest]] = []
        for preset in (p for p in names if p != base):
            mine_c, base_c = ev.configs[(model, preset)], ev.configs[(model, base)]
            for suite in board:
                name = suite.suite
                mine, theirs = mine_c.suites.get(name), base_c.suites.get(name)
                if mine is None or theirs is None or mine.unit is None or theirs.unit is None:
                    continue
                t = paired(ev, name, mine_c, base_c)
                cell = EffectCell(preset=preset, suite=name, delta=mine.unit - theirs.unit, n=t.n, p=t.p)
                cells.append(cell)
                if t.p is not None:
                    tests.append((cell, t))
        apply_holm([t for _, t in tests])
        for cell, t in tests:
            cell.p_holm = t.p_holm
            cell.significant = bool(significant(t.p_holm, ev.alpha))
        out.append(PresetEffect(model=model, base=base, presets=[p for p in names if p != base], cells=cells))
    return out


def judge_section(store: Store, cfg: Config, ev: Evidence) -> JudgeSection | None:
    """Reliability figures recomputed over every stored judgement, and the judge checked against people."""
    from llamune_eval.scoring.reliability import judge_figures, score_summary

    rows = store.valid_judgements()
    validation = validation_part(ev.judge) if ev.judge is not None else None
    if not rows and validation is None:
        return None
    summary = score_summary(rows)
    judges = sorted({r.judge_model for r in rows})
    # bradley_terry (pairwise judgements) is None when there are none
    figures = JudgeFigures.model_validate({"bradley_terry": None, **judge_figures(rows, cfg)}) if rows else None
    return JudgeSection(
        figures=figures,
        validation=validation,
        scores=[JudgeScore.model_validate(s) for s in summary if "suite" in s],
        panel_disagreement=next((s["panel_disagreement"] for s in summary if "panel_disagreement" in s), None),
        judges=judges,
        small_judges=small_judges(store, judges),
    )


def validation_part(checked: JudgeValidation) -> Validation:
    from llamune_eval.scoring.agreement import Agreement, unit

    rows = [
        AgreementRow(
            judge=judge,
            scope=scope or "all",
            **{f.name: figure(getattr(a, f.name)) for f in dataclasses.fields(Agreement)},
        )
        for judge, scopes in checked.agreement.items()
        for scope, a in scopes.items()
    ]
    points = [
        RatedPoint(
            suite=suite,
            judge=unit(r.judge, r.scale),
            people=unit(r.people, r.scale),
            chars=r.chars,
            residual=unit(r.judge, r.scale) - unit(r.people, r.scale),
        )
        for suite, r in checked.points
    ]
    return Validation(
        check=checked.evidence,
        agreement=rows,
        inter_rater=figure(checked.inter_rater),
        raters=checked.raters,
        ratings=checked.ratings,
        points=points,
    )


SMALL_JUDGE = 7e9  # parameters: below this a judge shows how judging works, not how good an answer is


def small_judges(store: Store, judges: list[str]) -> list[SmallJudge]:
    """Judges too small (or of unknown size) for their verdicts to stand as a verdict on quality."""
    from llamune_eval.analysis.memory import parameter_count
    from llamune_eval.store.selection import model_facts

    facts = model_facts(store)
    out = []
    for name in judges:
        params = parameter_count(facts.get(name))
        if params is None or params < SMALL_JUDGE:
            out.append(SmallJudge(judge=name, parameters=params))
    return out


def usage_section(store: Store, quarter: str, seed: int, targets: UsageTargets | None = None) -> UsageSection | None:
    """The usage the quarter's choice rests on (the quarter before the report's, else all time)."""
    from llamune_eval.store.usage import events_per_quarter
    from llamune_eval.usage import usage_metrics
    from llamune_eval.usage.signals import data_period

    per_quarter = events_per_quarter(store)
    if not per_quarter:
        return None
    period, _ = data_period(store, quarter)
    metrics = usage_metrics(store, period, seed=seed, targets=targets)
    return UsageSection.model_validate(metrics | {"period": period or "all", "eventsPerQuarter": per_quarter})


def collect(store: Store, cfg: Config, quarter: str, ev: Evidence | None = None) -> dict[str, Any]:
    """report.json's content (`collect_report`, dumped by alias): what the HTML is rendered from."""
    return collect_report(store, cfg, quarter, ev).content()


def collect_report(store: Store, cfg: Config, quarter: str, ev: Evidence | None = None) -> Report:
    """Everything the report shows (settings from `[paths] recommended`, earlier quarters' reports from
    `[paths] reports`); `ev` with texts, when the caller has read it already."""
    from llamune_eval.analysis.provenance import data_sources
    from llamune_eval.report.browser import browser_section
    from llamune_eval.report.history import history_section
    from llamune_eval.report.race import race_section
    from llamune_eval.report.summary import summary_section

    seed = cfg.run.seed
    ev = Evidence.for_quarter(store, cfg, quarter, texts=True) if ev is None else ev
    summary = Summary.model_validate(summary_section(cfg.paths.recommended, quarter))
    leaderboard = leaderboard_section(ev)
    configs = configs_section(ev)
    browser = browser_section(ev)
    runs = [{k: (str(v) if isinstance(v, datetime) else v) for k, v in r.items()} for r in store.runs()]
    return Report(
        schema_=SCHEMA_VERSION,
        quarter=quarter,
        generated_at=datetime.now(UTC).isoformat(timespec="seconds"),
        alpha=ev.alpha,
        runs=runs,
        counts=Counts(
            samples=len(ev.rows),
            errors=sum(not r.ok for r in ev.rows),
            suites=len(leaderboard),
            configs=len(configs),
            models=len({c.model for c in configs}),
        ),
        counted_suites=ev.counted_suites(),
        data=data_sources(store, ev, ev.suites()),
        summary=summary,
        race=race_section(ev.races),
        leaderboard=leaderboard,
        configs=configs,
        memory=memory_section(store, cfg, ev),
        contention=contention_section(summary),
        heatmap=heatmap_section(leaderboard, configs),
        preset_effect=preset_effect_section(ev, leaderboard),
        judge=judge_section(store, cfg, ev),
        usage=usage_section(store, quarter, seed, cfg.usage.targets),
        history=history_section(cfg.paths.reports, quarter, browser, leaderboard),
        browser=browser,
    )
