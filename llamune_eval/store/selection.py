"""The one selection rule, in SQL: which stored samples are a quarter's evidence.

A store holds several quarters, suite versions, model re-pulls and preset revisions. The evidence for quarter Q is
the samples of runs made for Q or earlier (a run made for no quarter counts for every one), then, of those:
each suite's newest data and template version, each model's newest digest (a model re-pulled under the same name
is a new model) and, per suite x model x preset x repeat, the newest parameter set (an edited preset or seed never
mixes with the old one). Leaderboard, compare, recommend and report all read this and nothing else.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, fields
from datetime import datetime
from typing import TYPE_CHECKING

import orjson
from pydantic import ValidationError

from llamune_eval.records import SuiteFacts
from llamune_eval.types import ModelInfo

if TYPE_CHECKING:
    from llamune_eval.store.results import Store

# a suite's data and template version as one SQL value (a settings file's version is `quarters.VERSION`)
SUITE_VERSION = "coalesce(suite_version, '') || chr(31) || coalesce(template_version, '')"
CURRENT = f"""
WITH base AS (
    SELECT s.*, coalesce(s.created_at, TIMESTAMP '1970-01-01') AS seen_at
    FROM {{source}} s LEFT JOIN runs r ON r.run_id = s.run_id
    WHERE $quarter IS NULL OR r.quarter IS NULL OR r.quarter <= $quarter
), versions AS (
    SELECT *,
        arg_max({SUITE_VERSION}, seen_at) OVER (PARTITION BY suite) AS newest_suite,
        arg_max(coalesce(model_digest, ''), seen_at) OVER (PARTITION BY model) AS newest_digest
    FROM base
), current_versions AS (
    SELECT * FROM versions WHERE {SUITE_VERSION} = newest_suite AND coalesce(model_digest, '') = newest_digest
), params AS (
    SELECT *, arg_max(coalesce(params::VARCHAR, ''), seen_at) OVER (PARTITION BY suite, model, preset, repeat)
        AS newest_params
    FROM current_versions
)
SELECT {{columns}} FROM params WHERE coalesce(params::VARCHAR, '') = newest_params
ORDER BY suite, item_id, repeat, model, preset
"""
TEXTS = ("prompt", "output", "parsed", "error", "thinking")  # only the report shows them: decisions skip fetching them


@dataclass(frozen=True, slots=True)
class SampleRow:
    """One stored sample as the evidence reads it (JSON columns stay text until someone needs them)."""

    key: str
    run_id: str | None
    suite: str
    suite_version: str | None
    template_version: str | None
    kind: str
    category: str | None
    item_id: str
    model: str
    model_digest: str | None
    preset: str
    params: str | None
    preset_params: str | None
    repeat: int
    prompt: str | None
    output: str | None
    reference: str | None
    eval_aspect: str | None
    parsed: str | None
    parse_ok: bool | None
    pending_judge: bool | None
    status: str
    error_kind: str | None
    error: str | None
    ttft_s: float | None
    latency_s: float | None
    tokens_per_s: float | None
    completion_tokens: int | None
    created_at: datetime | None
    item_category: str | None = None  # the item's own category (Japanese MT-Bench: writing, math, coding, ...)
    thinking: str | None = None  # a reasoning model's thinking per turn (JSON), never scored
    queue_s: float | None = None  # time waiting for a free engine slot (Ollama), kept out of ttft_s and latency_s

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def config(self) -> tuple[str, str]:
        return (self.model, self.preset)

    @property
    def pair_key(self) -> tuple[str, int]:
        """What two configurations' samples are paired on, within a suite."""
        return (self.item_id, self.repeat)


COLUMNS = tuple(f.name for f in fields(SampleRow))  # the columns the evidence reads, in the row's order


def current_samples(store: Store, quarter: str | None = None, *, texts: bool = False) -> list[SampleRow]:
    """The quarter's evidence (every quarter's newest when `quarter` is None), as typed rows; the prompts and
    answers themselves only with `texts`."""
    columns = ", ".join(c if texts or c not in TEXTS else f"NULL AS {c}" for c in COLUMNS)
    sql = CURRENT.format(columns=columns, source="samples_full" if texts else "samples")  # texts resolved in line
    rows = store.con.execute(sql, {"quarter": quarter}).fetchall()
    return [SampleRow(*r) for r in rows]


def scores_of(store: Store, keys: list[str]) -> dict[str, dict[str, float]]:
    """Per-sample score values of `keys`, joined in DuckDB (a temporary key table beats a long IN list)."""
    out: dict[str, dict[str, float]] = {}
    if not keys:
        return out
    con = store.con
    con.execute("CREATE OR REPLACE TEMP TABLE wanted_keys AS SELECT unnest(?::VARCHAR[]) AS key", [keys])
    try:
        for key, metric, value in con.execute(
            "SELECT s.key, s.metric, s.value FROM scores s JOIN wanted_keys k ON k.key = s.key"
        ).fetchall():
            out.setdefault(key, {})[metric] = value
    finally:
        con.execute("DROP TABLE IF EXISTS wanted_keys")
    return out


# the verdicts a sample's score is made of: readable single and reference verdicts of the first trial, under the
# newest judge prompt the sample was judged with
VERDICTS = (
    "WITH verdicts AS (SELECT *, arg_max(template_version, created_at) OVER (PARTITION BY sample_key) "
    "AS newest FROM judgements WHERE ok AND mode <> 'pairwise' AND trial = 0 AND overall IS NOT NULL "
    "AND scale > 0) "
)


def judge_shares(store: Store) -> dict[str, float]:
    """sample key -> the judges' mean overall score as a share of the scale, over every judged turn (`VERDICTS`).
    `overall / scale` is `scoring.reliability.share`, written again in SQL to average inside the query."""
    return dict(
        store.con.execute(
            VERDICTS + "SELECT sample_key, avg(overall / scale) FROM verdicts WHERE template_version = newest "
            "GROUP BY sample_key"
        ).fetchall()
    )


@dataclass(frozen=True, slots=True)
class Verdict:
    """One judge's score of one answer (its mean over the answer's judged turns, `chars` their total length), as
    the decision reads it."""

    sample_key: str
    judge: str
    overall: float
    scale: int
    chars: int
    judge_family: str | None
    model_family: str | None


def judge_verdicts(store: Store) -> list[Verdict]:
    """Per answer and judge model, the mean overall score over the verdicts `judge_shares` averages."""
    rows = store.con.execute(
        VERDICTS + "SELECT sample_key, judge_model, avg(overall), max(scale), coalesce(sum(answer_chars), 0), "
        "any_value(judge_family), any_value(model_family) FROM verdicts WHERE template_version = newest "
        "GROUP BY ALL ORDER BY ALL"
    ).fetchall()
    return [Verdict(k, j, float(o), int(sc), int(c), jf, mf) for k, j, o, sc, c, jf, mf in rows]


def model_facts(store: Store) -> dict[str, ModelInfo]:
    """Each model's facts (size, parameters, quantization) as the newest run recorded them (the run's plan holds
    the engine's `ModelInfo` of each model): memory needs without asking an engine."""
    facts: dict[str, ModelInfo] = {}
    for (plan,) in store.con.execute("SELECT plan FROM runs WHERE plan IS NOT NULL ORDER BY started_at").fetchall():
        data = _json(plan)
        recorded = data.get("model_facts") if isinstance(data, dict) else None
        for name, fact in recorded.items() if isinstance(recorded, dict) else ():
            with contextlib.suppress(ValidationError):  # a record this version cannot read tells nothing
                facts[name] = ModelInfo.model_validate(fact)
    return facts


def suite_facts(store: Store) -> dict[str, SuiteFacts]:
    """Each suite's facts as the newest run recorded them: version, template, items and where its data came from
    (`data`: origin real, sample or custom, with the dataset's name and digest)."""
    facts: dict[str, SuiteFacts] = {}
    rows = store.con.execute("SELECT suites FROM runs WHERE suites IS NOT NULL ORDER BY started_at").fetchall()
    for (suites,) in rows:
        data = _json(suites)
        for entry in data if isinstance(data, list) else []:
            with contextlib.suppress(ValidationError):
                fact = SuiteFacts.model_validate(entry)
                facts[fact.name] = fact
    return facts


def _json(text: str) -> object:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return None


def latency_medians(store: Store) -> dict[tuple[str, str], tuple[float, int]]:
    """(model, suite) -> the median engine latency of its answered samples and how many there are: what a plan's
    ETA is made of when the store has seen the model on the suite before."""
    rows = store.con.execute(
        "SELECT model, suite, median(latency_s), count(*) FROM samples "
        "WHERE status = 'ok' AND latency_s IS NOT NULL GROUP BY ALL"
    ).fetchall()
    return {(m, s): (float(med), int(n)) for m, s, med, n in rows}
