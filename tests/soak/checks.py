"""The soak's verdict: what the final store holds against every kill's durable state, and the decision and
report recomputed from it against a never-killed copy."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llamune_eval.store.results import Store
from llamune_eval.store.usage import event_count
from tests.soak.killing import Attempt, never_killed_copy, normalised, recomputed

QUARTER = "2027-Q1"


@dataclass
class Verdict:
    kills: int
    stages: dict[str, int]
    samples: int
    judgements: int
    lost: int
    duplicated: int
    regenerated: int

    def line(self) -> str:
        where = ", ".join(f"{k} {v}" for k, v in self.stages.items())
        return (f"SIGKILL x {self.kills} ({where}): {self.samples} samples, {self.judgements} judgements; "
                f"{self.lost} lost, {self.duplicated} duplicated, {self.regenerated} regenerated")  # fmt: skip


def verdict(folder: Path, attempts: list[Attempt], snapshots: list[dict[str, dict[str, tuple[str, str]]]],
            final: Attempt, tmp: Path) -> Verdict:  # fmt: skip
    """Every check of the kill issue; returns the figures for the record."""
    assert final.returncode == 0 and not final.killed, final.lines[-5:]
    planned = int(next(x for x in final.lines if " samples planned, " in x).split(" samples planned")[0].split()[-1])
    store_path = folder / "llamune.duckdb"
    with Store(store_path) as store:
        samples = store.samples()
        judgements = store.judgements()
        memo_ok = [s for s in samples if s.suite == "memo" and s.status == "ok"]
        events = event_count(store)
    identity = {(s.suite, s.item_id, s.model, s.preset, s.repeat) for s in samples}
    duplicated = len(samples) - len(identity)
    assert all(s.status == "ok" for s in samples), [s.error for s in samples if s.status != "ok"]
    assert len(samples) == planned and duplicated == 0
    assert len(judgements) == len(memo_ok) and all(j.error_kind is None for j in judgements)
    assert len({j.sample_key for j in judgements}) == len(judgements)  # one verdict per answer, never two
    assert events == 2
    now = {"samples": {s.key: (s.run_id, str(s.created_at)) for s in samples},
           "judgements": {j.key: (j.run_id, str(j.created_at)) for j in judgements}}  # fmt: skip
    lost = regenerated = 0
    for snap in snapshots:
        for table, rows in snap.items():
            for key, (run_id, at) in rows.items():
                if key not in now[table]:
                    lost += 1
                elif now[table][key][0] != run_id or now[table][key][1][:19] != at[:19]:
                    regenerated += 1
    assert (lost, regenerated) == (0, 0)
    # the decision and the report: as the final run wrote them, recomputed from the killed store, and from a store
    # holding the same samples that was never killed
    written = sorted((folder / "recommended").glob(f"{QUARTER}*.json"))
    assert written, "the final run wrote no settings"
    settings_run = json.loads(written[-1].read_bytes())
    report_run = json.loads((folder / "reports" / QUARTER / "report.json").read_bytes())
    clean = tmp / "never-killed.duckdb"
    never_killed_copy(store_path, clean)
    preview = bool(settings_run.get("preview"))
    settings_killed, report_killed = recomputed(folder, store_path, QUARTER, tmp / "out-killed", preview)
    settings_clean, report_clean = recomputed(folder, clean, QUARTER, tmp / "out-clean", preview)
    assert normalised(settings_killed) == normalised(settings_clean) == normalised(settings_run), _diff(
        normalised(settings_killed), normalised(settings_clean), normalised(settings_run)
    )
    assert normalised(report_killed) == normalised(report_clean) == normalised(report_run)
    stages: dict[str, int] = {}
    for a in attempts:
        if a.killed:
            stages[a.stage] = stages.get(a.stage, 0) + 1
    return Verdict(sum(stages.values()), stages, len(samples), len(judgements), lost, duplicated, regenerated)


def _diff(*values: Any, path: str = "") -> str:
    """Where three JSON values first differ (for the failure message)."""
    if all(isinstance(v, dict) for v in values):
        for key in sorted(set().union(*(v.keys() for v in values))):
            parts = [v.get(key) for v in values]
            if any(p != parts[0] for p in parts):
                return _diff(*parts, path=f"{path}.{key}")
    if all(isinstance(v, list) for v in values) and len({len(v) for v in values}) == 1:
        for i, parts in enumerate(zip(*values, strict=True)):
            if any(p != parts[0] for p in parts):
                return _diff(*parts, path=f"{path}[{i}]")
    return f"{path}: " + " | ".join(json.dumps(v, ensure_ascii=False)[:200] for v in values)
