"""Scoring rules change (a stricter parser, a second profile); stored answers do not. Before a run, every stored
answer of the suites being run that was scored under older rules is scored again from its stored text: no engine
request, the same key, the new values."""

from __future__ import annotations

import orjson

from llamune_eval.benchmarks import Suite
from llamune_eval.store.results import Store


def rescore(store: Store, suites: list[Suite]) -> int:
    """How many stored answers were scored again."""
    done = 0
    for suite in suites:
        version = str(getattr(suite.task, "scoring_version", "1"))
        stale = store.stale_samples(suite.name, suite.version, suite.template_version, version)
        if not stale:
            continue
        items = {item.id: item for item in suite.items}
        rows = []
        for key, item_id, output in stale:
            item = items.get(item_id)
            if item is None:
                continue
            answers = [str(a) for a in orjson.loads(output or "[]")] or [""]
            score = suite.task.score(item, answers)
            rows.append((key, score.parsed, score.parse_ok, score.pending_judge, score.stored()))
        done += store.rescore(version, rows)
    return done
