"""Every table of the store, defined once: runs, samples, scores, judgements, judge runs and usage events. Columns
added since the first release are added to older stores when they are opened."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id VARCHAR PRIMARY KEY, started_at TIMESTAMP, finished_at TIMESTAMP, status VARCHAR,
    config JSON, suites JSON, plan JSON, samples_planned INTEGER, samples_skipped INTEGER
);
CREATE TABLE IF NOT EXISTS samples (
    key VARCHAR PRIMARY KEY, run_id VARCHAR, suite VARCHAR, suite_version VARCHAR, template_version VARCHAR,
    kind VARCHAR, category VARCHAR, item_id VARCHAR, model VARCHAR, model_digest VARCHAR, engine VARCHAR,
    endpoint VARCHAR, preset VARCHAR, params JSON, repeat INTEGER, seed BIGINT, prompt JSON, output JSON,
    finish_reason VARCHAR, prompt_tokens INTEGER, completion_tokens INTEGER, ttft_s DOUBLE, latency_s DOUBLE,
    tokens_per_s DOUBLE, attempts INTEGER, status VARCHAR, error_kind VARCHAR, error VARCHAR, unsupported JSON,
    parsed VARCHAR, parse_ok BOOLEAN, pending_judge BOOLEAN, created_at TIMESTAMP
);
CREATE TABLE IF NOT EXISTS scores (key VARCHAR, metric VARCHAR, value DOUBLE, PRIMARY KEY (key, metric));
ALTER TABLE samples ADD COLUMN IF NOT EXISTS reference JSON;
ALTER TABLE samples ADD COLUMN IF NOT EXISTS eval_aspect VARCHAR;
CREATE TABLE IF NOT EXISTS judgements (
    key VARCHAR PRIMARY KEY, run_id VARCHAR, mode VARCHAR, suite VARCHAR, item_id VARCHAR, repeat INTEGER,
    sample_key VARCHAR, sample_key_b VARCHAR, model VARCHAR, preset VARCHAR, model_b VARCHAR, preset_b VARCHAR,
    position VARCHAR, judge_model VARCHAR, judge_digest VARCHAR, judge_family VARCHAR, model_family VARCHAR,
    template_version VARCHAR, scale INTEGER, trial INTEGER, raw VARCHAR, ok BOOLEAN, overall DOUBLE, criteria JSON,
    winner VARCHAR, answer_chars INTEGER, latency_s DOUBLE, error_kind VARCHAR, error VARCHAR, created_at TIMESTAMP
);
CREATE TABLE IF NOT EXISTS judge_runs (run_id VARCHAR PRIMARY KEY, created_at TIMESTAMP, figures JSON);
ALTER TABLE samples ADD COLUMN IF NOT EXISTS preset_params JSON;
ALTER TABLE runs ADD COLUMN IF NOT EXISTS quarter VARCHAR;
ALTER TABLE runs ADD COLUMN IF NOT EXISTS pid INTEGER;
ALTER TABLE runs ADD COLUMN IF NOT EXISTS host VARCHAR;
ALTER TABLE samples ADD COLUMN IF NOT EXISTS scoring_version VARCHAR;
ALTER TABLE samples ADD COLUMN IF NOT EXISTS thinking JSON;
ALTER TABLE samples ADD COLUMN IF NOT EXISTS item_category VARCHAR;
ALTER TABLE samples ADD COLUMN IF NOT EXISTS queue_s DOUBLE;
ALTER TABLE samples ADD COLUMN IF NOT EXISTS load_s DOUBLE;
ALTER TABLE judgements ADD COLUMN IF NOT EXISTS turn INTEGER;
ALTER TABLE judgements ADD COLUMN IF NOT EXISTS temperature DOUBLE;
"""
USAGE_SCHEMA = """
CREATE TABLE IF NOT EXISTS usage_events (
    event_id VARCHAR PRIMARY KEY, source VARCHAR, session_id VARCHAR, message_id BIGINT, turn INTEGER,
    kind VARCHAR, model VARCHAR, preset VARCHAR, params JSON, ttft_s DOUBLE, latency_s DOUBLE,
    prompt_tokens INTEGER, completion_tokens INTEGER, success BOOLEAN, error_kind VARCHAR, adopted BOOLEAN,
    rating INTEGER, comment VARCHAR, category VARCHAR, created_at TIMESTAMP
);
ALTER TABLE usage_events ADD COLUMN IF NOT EXISTS accuracy INTEGER;
ALTER TABLE usage_events ADD COLUMN IF NOT EXISTS naturalness INTEGER;
ALTER TABLE usage_events ADD COLUMN IF NOT EXISTS usefulness INTEGER;
"""
