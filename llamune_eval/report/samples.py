"""The samples a report is about, and what each one scored.

A store may hold several quarters: the report takes each suite's newest data and template version and each
model's newest digest (a model re-pulled under the same name is a new model), so old answers never mix in.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from llamune_eval.runner.compare import BINARY
from llamune_eval.runner.compare import PAIRED_VALUE as PAIRED
from llamune_eval.store.results import Store

__all__ = ["BINARY", "PAIRED", "Selection", "select", "text_of"]
JSTS_RIGHT = 1.0  # a JSTS answer within one point of the gold similarity (0-5) counts as right
JUDGE_RIGHT = 0.6  # a judged answer scoring at least 60% of the scale counts as right

SELECT = """
WITH s AS (
    SELECT *,
        arg_max(suite_version || chr(31) || template_version, created_at) OVER (PARTITION BY suite) AS newest_suite,
        arg_max(coalesce(model_digest, ''), created_at) OVER (PARTITION BY model) AS newest_digest
    FROM samples
)
SELECT key, run_id, suite, suite_version, template_version, kind, category, item_id, model, model_digest, preset,
    params, repeat, prompt, output, reference, eval_aspect, parsed, parse_ok, pending_judge, status, error_kind,
    error, ttft_s, latency_s, tokens_per_s, completion_tokens, created_at
FROM s
WHERE suite_version || chr(31) || template_version = newest_suite AND coalesce(model_digest, '') = newest_digest
ORDER BY suite, item_id, repeat, model, preset
"""


@dataclass
class Selection:
    """Current samples, their score values, and the judge's mean share of the scale per judged sample."""

    rows: list[dict[str, Any]]
    values: dict[str, dict[str, float]]
    judged: dict[str, float] = field(default_factory=dict)

    @cached_property
    def paired(self) -> dict[tuple[str, str, str], dict[tuple[str, int], float]]:
        """(suite, model, preset) -> (item, repeat) -> paired value, for the tests between configurations."""
        out: dict[tuple[str, str, str], dict[tuple[str, int], float]] = {}
        for r in self.rows:
            value = self.value(r)
            if value is not None:
                out.setdefault((r["suite"], r["model"], r["preset"]), {})[(r["item_id"], r["repeat"])] = value
        return out

    @cached_property
    def kinds(self) -> dict[str, str]:
        return {r["suite"]: r["kind"] for r in self.rows}

    @cached_property
    def judged_suites(self) -> set[str]:
        """Suites scored by the judge: their headline is the judge's mean share of the scale."""
        return {r["suite"] for r in self.rows if r["pending_judge"]}

    def value(self, row: dict[str, Any]) -> float | None:
        """The sample's paired value (higher is better except JSTS's absolute error); None if unscored."""
        if row["status"] != "ok":
            return None
        if row["pending_judge"]:
            return self.judged.get(row["key"])
        got = self.values.get(row["key"], {})
        field_name = PAIRED.get(row["kind"], "pass")
        if field_name == "abs_error":
            return abs(got["pred"] - got["gold"]) if "pred" in got else None
        return got.get(field_name)

    def verdict(self, row: dict[str, Any]) -> str:
        """right, wrong, error or pending (a parse failure is wrong)."""
        if row["status"] != "ok":
            return "error"
        value = self.value(row)
        if value is None:
            if row["kind"] == "jsts" and not row["parse_ok"]:
                return "wrong"
            return "pending"
        if row["pending_judge"]:
            return "right" if value >= JUDGE_RIGHT else "wrong"
        if row["kind"] == "jsts":
            return "right" if value <= JSTS_RIGHT else "wrong"
        return "right" if value >= 0.5 else "wrong"


def select(store: Store) -> Selection:
    cur = store.con.execute(SELECT)
    names = [d[0] for d in cur.description]
    rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    values: dict[str, dict[str, float]] = {}
    if rows:
        store.con.execute("CREATE OR REPLACE TEMP TABLE report_keys AS SELECT unnest(?::VARCHAR[]) AS key",
                          [[r["key"] for r in rows]])  # fmt: skip
        for key, metric, value in store.con.execute(
            "SELECT s.key, s.metric, s.value FROM scores s JOIN report_keys k ON k.key = s.key"
        ).fetchall():
            values.setdefault(key, {})[metric] = value
        store.con.execute("DROP TABLE report_keys")
    return Selection(rows, values, judged_means(store))


def judged_means(store: Store) -> dict[str, float]:
    """sample key -> mean over judges of overall / scale (single and reference modes, first trial)."""
    per: dict[str, list[float]] = {}
    for key, overall, scale in store.con.execute(
        "SELECT sample_key, overall, scale FROM judgements WHERE ok AND mode <> 'pairwise' AND trial = 0"
    ).fetchall():
        per.setdefault(key, []).append(overall / scale)
    return {k: statistics.fmean(v) for k, v in per.items()}


def text_of(raw: Any) -> str:
    """A stored JSON list of turns or answers as one text (turns separated by a rule)."""
    if raw is None:
        return ""
    try:
        value = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return str(raw)
    if isinstance(value, list):
        return "\n\n――――\n\n".join(str(v) for v in value)
    if isinstance(value, dict | int | float):
        return json.dumps(value, ensure_ascii=False)
    return str(value)
