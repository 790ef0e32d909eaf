"""A raced quarter in the settings file: the race as a whole (seed, budget, requests spent against a full run), where
each configuration stopped, and the race's own test row in the decision; every file validates against the
published schema and parses as RFC 8259 JSON. A quarter that was not raced says so."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema

from llamune_eval import jsonio
from llamune_eval.config import Config
from llamune_eval.recommend import build, publish
from llamune_eval.recommend.shapes import PublishedSettings
from llamune_eval.settings import load_recommended
from llamune_eval.settings_evidence import EvidenceShape
from llamune_eval.store.races import RaceRow, save_race
from llamune_eval.store.results import Store
from tests.recommend._store import MODELS, fill, listed

CFG = Config()
TOTAL = 200
# B and C settled worse by A, D and E cannot replace B (last quarter's main), A was left last, F ran out of budget
STOPS = {
    "A": ("settled-best", 160, None),
    "B": ("settled-worse", 75, "A:general"),
    "C": ("settled-worse", 50, "A:general"),
    "D": ("cannot-replace", 120, "B:general"),
    "E": ("cannot-replace", 100, "B:general"),
    "F": ("budget", 90, None),
}
SPENT = sum(items for _, items, _ in STOPS.values())  # 595


def _race(store: Store, quarter: str, budget: int | None = 600) -> None:
    rows = [
        RaceRow(m, "general", reason, items, TOTAL, by, 7, budget, SPENT) for m, (reason, items, by) in STOPS.items()
    ]
    save_race(store, quarter, "r1", rows)


def _written(out: Path, data: dict[str, Any]) -> dict[str, Any]:
    """The file as published, checked against the schema written beside it (strict JSON: no NaN)."""
    path, _ = publish(out, data, None)
    written: dict[str, Any] = jsonio.loads(path.read_bytes())
    jsonschema.Draft202012Validator(jsonio.loads((out / "schema.json").read_bytes())).validate(written)
    PublishedSettings.model_validate(written)
    return written


def _configs(evidence: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every configuration the file describes (mains and candidates of every tier), by label."""
    out = {}
    for tier in evidence["tiers"]:
        for c in [tier["main"], *tier["candidates"]]:
            out[c["config"]] = c
    return out


def test_a_raced_quarter_records_the_race_and_where_each_configuration_stopped(tmp_path: Path) -> None:
    out = tmp_path / "recommended"
    with fill(tmp_path / "r.duckdb") as store:
        _race(store, "2026-Q1")
        written = _written(out, build(store, CFG, "2026-Q1", listed(), out))
    evidence = written["evidence"]
    assert evidence["raced"] is True
    assert evidence["race"] == {"seed": 7, "budget": 600, "spent": 595, "full": 6 * 200}
    configs = _configs(evidence)
    assert set(configs) == {f"{m}:general" for m in MODELS}
    assert configs["B:general"]["race"] == {"reason": "settled-worse", "items": 75, "total": 200, "by": "A:general"}
    assert configs["D:general"]["race"] == {"reason": "cannot-replace", "items": 120, "total": 200, "by": "B:general"}
    assert configs["F:general"]["race"] == {"reason": "budget", "items": 90, "total": 200, "by": None}
    main16 = next(t for t in evidence["tiers"] if t["memoryGB"] == 16)["main"]
    assert main16["config"] == "A:general" and main16["race"]["reason"] == "settled-best"
    assert main16["race"]["items"] == 160


def test_no_budget_is_null(tmp_path: Path) -> None:
    out = tmp_path / "recommended"
    with fill(tmp_path / "r.duckdb") as store:
        _race(store, "2026-Q1", budget=None)
        written = _written(out, build(store, CFG, "2026-Q1", listed(), out))
    assert written["evidence"]["race"] == {"seed": 7, "budget": None, "spent": 595, "full": 1200}


def test_a_quarter_not_raced_says_so(tmp_path: Path) -> None:
    out = tmp_path / "recommended"
    with fill(tmp_path / "r.duckdb") as store:
        _race(store, "2025-Q4")  # another quarter's race is not this one's
        written = _written(out, build(store, CFG, "2026-Q1", listed(), out))
    evidence = written["evidence"]
    assert evidence["raced"] is False and evidence["race"] is None
    assert {label: c["race"] for label, c in _configs(evidence).items()} == {f"{m}:general": None for m in MODELS}


def test_the_race_settling_the_incumbent_worse_is_a_test_row_the_file_and_schema_accept(tmp_path: Path) -> None:
    out = tmp_path / "recommended"
    with fill(tmp_path / "old.duckdb", {"B": MODELS["B"], "C": MODELS["C"]}) as store:
        _written(out, build(store, CFG, "2025-Q4", listed(), out))
    with fill(tmp_path / "new.duckdb") as store:
        _race(store, "2026-Q1")
        written = _written(out, build(store, CFG, "2026-Q1", listed(), out))
    decision = next(t for t in written["evidence"]["tiers"] if t["memoryGB"] == 16)["decision"]
    assert (decision["incumbent"], decision["challenger"], decision["outcome"]) == (
        "B:general",
        "A:general",
        "replaced",
    )
    [race] = [t for t in decision["tests"] if t["name"] == "race"]
    assert race == {
        "name": "race",
        "test": "anytime-valid confidence sequence",
        "n": 75,
        "diff": None,
        "ci": [None, None],
        "p": None,
        "pHolm": None,
        "favours": "A:general",
        "inFamily": True,
        "note": "B:general は 75 問の時点で A:general に劣ると確定（レース）",
    }
    loaded = load_recommended(out / "2026-Q1.json")  # the chat runtime reads it as it did
    assert loaded.version == "2026-Q1" and isinstance(loaded.evidence, EvidenceShape) and loaded.evidence.raced


def test_the_schema_refuses_what_is_never_written() -> None:
    """A reason the race never gives, or a race without its spending, is not a file `recommend` writes."""
    from llamune_eval.recommend import json_schema

    validator = jsonschema.Draft202012Validator(json_schema())
    race = validator.schema["$defs"]["ConfigRace"]
    assert set(race["properties"]["reason"]["enum"]) == {
        "settled-worse",
        "cannot-replace",
        "settled-best",
        "complete",
        "budget",
        "fits-no-tier",
    }
    sub = jsonschema.Draft202012Validator({**race, "$defs": validator.schema["$defs"]})
    assert sub.is_valid({"reason": "complete", "items": 200, "total": 200, "by": None})
    assert not sub.is_valid({"reason": "stopped", "items": 200, "total": 200, "by": None})
    assert not sub.is_valid({"reason": "complete", "items": 200, "total": 200})  # `by` is always written
    whole = {**validator.schema["$defs"]["RaceEvidence"], "$defs": validator.schema["$defs"]}
    assert not jsonschema.Draft202012Validator(whole).is_valid({"seed": 7, "budget": None, "spent": 5})
