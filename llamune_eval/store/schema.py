"""Every table of the store, defined once: runs, samples, scores, judgements, texts, usage events, races, the
measure stage's timings and memory footprints, and people's ratings of answers.

Each table is its columns as first released plus the columns added since, oldest first: the DDL is made from that,
and the added columns are added to older stores when they are opened, in that order. A table that holds a record of
`records.py` or `types.py` (samples, judgements, usage events, timings, footprints, human ratings) has that
record's fields as its columns, in order: the journals and the usage ingest read and write by the record's fields, and
`tests/store/test_records.py` holds each table to its record (names, order, types). Stores written before the
`judge_runs` table was dropped still hold it; nothing reads or writes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from llamune_eval.records import HumanRating, Judgement, Sample, UsageEvent, fields
from llamune_eval.store.texts import VIEW

if TYPE_CHECKING:
    import duckdb


def _definitions(text: str) -> list[str]:
    return [c.strip() for c in text.split(",") if c.strip()]


@dataclass(frozen=True)
class Table:
    name: str
    first: str  # "name TYPE, ..." as first released (a column's definition never holds a comma)
    added: str = ""  # columns added since, oldest first
    primary_key: str = ""  # a key over several columns

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(c.split()[0] for c in _definitions(self.first) + _definitions(self.added))

    @property
    def types(self) -> dict[str, str]:
        """Column -> its DuckDB type, as defined here (the catalogue need not be asked: it costs a query)."""
        return {c.split()[0]: c.split()[1] for c in _definitions(self.first) + _definitions(self.added)}

    def ddl(self) -> str:
        key = f", PRIMARY KEY ({self.primary_key})" if self.primary_key else ""
        alter = "".join(f"ALTER TABLE {self.name} ADD COLUMN IF NOT EXISTS {c};\n" for c in _definitions(self.added))
        return f"CREATE TABLE IF NOT EXISTS {self.name} ({', '.join(_definitions(self.first))}{key});\n{alter}"


RUNS = Table(
    "runs",
    """run_id VARCHAR PRIMARY KEY, started_at TIMESTAMP, finished_at TIMESTAMP, status VARCHAR, config JSON,
    suites JSON, plan JSON, samples_planned INTEGER, samples_skipped INTEGER""",
    "quarter VARCHAR, pid INTEGER, host VARCHAR",
)
SAMPLES = Table(  # records.Sample
    "samples",
    """key VARCHAR PRIMARY KEY, run_id VARCHAR, suite VARCHAR, suite_version VARCHAR, template_version VARCHAR,
    kind VARCHAR, category VARCHAR, item_id VARCHAR, model VARCHAR, model_digest VARCHAR, engine VARCHAR,
    endpoint VARCHAR, preset VARCHAR, params JSON, repeat INTEGER, seed BIGINT, prompt JSON, output JSON,
    finish_reason VARCHAR, prompt_tokens INTEGER, completion_tokens INTEGER, ttft_s DOUBLE, latency_s DOUBLE,
    tokens_per_s DOUBLE, attempts INTEGER, status VARCHAR, error_kind VARCHAR, error VARCHAR, unsupported JSON,
    parsed VARCHAR, parse_ok BOOLEAN, pending_judge BOOLEAN, created_at TIMESTAMP""",
    """reference JSON, eval_aspect VARCHAR, preset_params JSON, scoring_version VARCHAR, thinking JSON,
    item_category VARCHAR, queue_s DOUBLE, load_s DOUBLE""",
)
SCORES = Table("scores", "key VARCHAR, metric VARCHAR, value DOUBLE", primary_key="key, metric")
JUDGEMENTS = Table(  # records.Judgement
    "judgements",
    """key VARCHAR PRIMARY KEY, run_id VARCHAR, mode VARCHAR, suite VARCHAR, item_id VARCHAR, repeat INTEGER,
    sample_key VARCHAR, sample_key_b VARCHAR, model VARCHAR, preset VARCHAR, model_b VARCHAR, preset_b VARCHAR,
    position VARCHAR, judge_model VARCHAR, judge_digest VARCHAR, judge_family VARCHAR, model_family VARCHAR,
    template_version VARCHAR, scale INTEGER, trial INTEGER, raw VARCHAR, ok BOOLEAN, overall DOUBLE, criteria JSON,
    winner VARCHAR, answer_chars INTEGER, latency_s DOUBLE, error_kind VARCHAR, error VARCHAR, created_at TIMESTAMP""",
    "turn INTEGER, temperature DOUBLE",
)
TEXTS = Table("texts", "digest VARCHAR PRIMARY KEY, chars BIGINT, body VARCHAR")  # see store/texts.py
USAGE_EVENTS = Table(  # records.UsageEvent
    "usage_events",
    """event_id VARCHAR PRIMARY KEY, source VARCHAR, session_id VARCHAR, message_id BIGINT, turn INTEGER,
    kind VARCHAR, model VARCHAR, preset VARCHAR, params JSON, ttft_s DOUBLE, latency_s DOUBLE,
    prompt_tokens INTEGER, completion_tokens INTEGER, success BOOLEAN, error_kind VARCHAR, adopted BOOLEAN,
    rating INTEGER, comment VARCHAR, category VARCHAR, created_at TIMESTAMP""",
    # user: a drop's pseudonym (a chat database ingested whole is one user: its source); tier: the machine's GB
    "accuracy INTEGER, naturalness INTEGER, usefulness INTEGER, user VARCHAR, tier INTEGER, client VARCHAR",
)
RACES = Table(  # one row per configuration of a raced quarter: how many items it answered and why it stopped
    "races",
    """quarter VARCHAR, model VARCHAR, preset VARCHAR, run_id VARCHAR, reason VARCHAR, items INTEGER, total INTEGER,
    by_config VARCHAR, seed BIGINT, budget BIGINT, spent BIGINT, full_run BIGINT, created_at TIMESTAMP""",
    primary_key="quarter, model, preset",
)
TIMINGS = Table(  # types.Timing: one timed request of the measure stage or the contention check
    "timings",
    """quarter VARCHAR, purpose VARCHAR, set_id VARCHAR, step INTEGER, model VARCHAR, preset VARCHAR,
    num_ctx INTEGER, probe INTEGER, ttft_s DOUBLE, latency_s DOUBLE, tokens_per_s DOUBLE, prompt_tokens INTEGER,
    completion_tokens INTEGER, ok BOOLEAN, error VARCHAR, machine JSON, created_at TIMESTAMP""",
    "cached_tokens INTEGER",
    primary_key="quarter, purpose, set_id, step, model, preset, probe",
)
FOOTPRINTS = Table(  # types.Footprint: a model's memory at one context, measured or estimated, per quarter
    "footprints",
    """quarter VARCHAR, model VARCHAR, num_ctx INTEGER, slots INTEGER, bytes BIGINT, vram_bytes BIGINT,
    source VARCHAR, detail VARCHAR, machine JSON, created_at TIMESTAMP""",
    primary_key="quarter, model, num_ctx, source",
)
HUMAN_RATINGS = Table(  # records.HumanRating
    "human_ratings",
    """key VARCHAR PRIMARY KEY, sample_key VARCHAR, suite VARCHAR, item_id VARCHAR, rater VARCHAR,
    accuracy INTEGER, naturalness INTEGER, usefulness INTEGER, score INTEGER, scale INTEGER, shared BOOLEAN,
    source VARCHAR, created_at TIMESTAMP""",
)
TABLES = (RUNS, SAMPLES, SCORES, JUDGEMENTS, TEXTS, USAGE_EVENTS, RACES, TIMINGS, FOOTPRINTS, HUMAN_RATINGS)
BY_NAME = {t.name: t for t in TABLES}

SAMPLE_COLUMNS = fields(Sample)  # each the table's columns too (tests/store/test_records.py)
JUDGEMENT_COLUMNS = fields(Judgement)
USAGE_COLUMNS = fields(UsageEvent)
RATING_COLUMNS = fields(HumanRating)


def create(con: duckdb.DuckDBPyConnection) -> None:
    """Create (or bring up to date) every table, and the `samples_full` view; run only by `Store` when it opens."""
    con.execute("".join(t.ddl() for t in TABLES) + VIEW)
