"""Which data and prompt each suite of the evidence ran on, as its newest run recorded it: the settings file and
the report both name it, so a number is never read without knowing whether it came from the real dataset."""

from __future__ import annotations

from llamune_eval.analysis.evidence import Evidence
from llamune_eval.settings_evidence import DataEvidence
from llamune_eval.store.results import Store
from llamune_eval.store.selection import suite_facts


def data_sources(store: Store, ev: Evidence, suites: list[str] | None = None) -> list[DataEvidence]:
    """Per suite: origin real (a known dataset's published files, with its name, the scored file's sha256 and the
    licence), sample (the shipped hand-written suites), in-house, custom (a configured source) or unknown (runs from
    before this record); items and template."""
    facts = suite_facts(store)
    out = []
    for suite in ev.counted_suites() if suites is None else suites:
        fact = facts.get(suite)
        data = fact.data if fact else {}
        template = next((c.suites[suite].template_version for c in ev.configs.values() if suite in c.suites), None)
        out.append(
            DataEvidence(
                suite=suite,
                origin=data.get("origin", "unknown"),
                dataset=data.get("dataset"),
                digest=data.get("digest"),
                licence=data.get("licence"),
                items=fact.items if fact else None,
                template_version=template,
            )
        )
    return out
