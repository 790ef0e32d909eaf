"""report.json has one model (`report.document.Report`) and a published JSON Schema (`reports/schema.json`): the
committed schema is the generated one, a real report validates against it and reads back through the model as it
was written, the version is matched exactly, and the next quarter reads an earlier report through `upgrade` only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import pytest

from fixtures.synth import synthesize
from llamune_eval import jsonio
from llamune_eval.config import Config
from llamune_eval.report import make_report
from llamune_eval.report.document import REPORT_VERSION, Report, json_schema, upgrade
from llamune_eval.report.history import earlier_reports
from llamune_eval.store.results import Store

SHIPPED = Path(__file__).resolve().parents[2] / "reports" / "schema.json"


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """A report folder as `make_report` leaves it, and its report.json as parsed (strict JSON)."""
    tmp = tmp_path_factory.mktemp("schema")
    cfg = Config.model_validate({"paths": {"store": str(tmp / "s.duckdb"), "reports": str(tmp / "reports"),
                                           "recommended": str(tmp / "recommended")}})  # fmt: skip
    synthesize(cfg.paths.store, 600)
    with Store(cfg.paths.store) as store:
        make_report(cfg, "2026-Q3", store, html=False)
    return cfg.paths.reports, jsonio.loads((cfg.paths.reports / "2026-Q3" / "report.json").read_bytes())


def test_the_schema_shipped_in_the_repository_is_the_generated_one() -> None:
    assert jsonio.loads(SHIPPED.read_bytes()) == json_schema(), "regenerate reports/schema.json"


def test_a_real_report_validates_and_reads_back_as_written(written: tuple[Path, dict[str, Any]]) -> None:
    reports, data = written
    assert data["schema"] == REPORT_VERSION and data["counts"]["samples"] == 600
    jsonschema.Draft202012Validator(json_schema()).validate(data)
    assert jsonio.loads((reports / "schema.json").read_bytes()) == json_schema()  # written beside the quarters
    report = upgrade(data)
    assert report is not None and report.model_dump(mode="json", by_alias=True) == data  # every key, value, null
    assert [s.suite for s in report.leaderboard] == [s["suite"] for s in data["leaderboard"]]
    assert len(report.browser.answers) == 600


def test_the_version_is_matched_exactly(written: tuple[Path, dict[str, Any]]) -> None:
    _, data = written
    for version in ("llamune-report-10", "llamune-report-1.1", "llamune-report-", None):
        assert upgrade(data | {"schema": version}) is None, version
    assert upgrade([data]) is None and upgrade(data | {"leaderboard": "renamed"}) is None


def test_the_next_quarter_reads_earlier_reports_through_the_model(written: tuple[Path, dict[str, Any]],
                                                                  tmp_path: Path) -> None:  # fmt: skip
    _, data = written
    for quarter, version in (("2026-Q1", "llamune-report-10"), ("2026-Q2", REPORT_VERSION)):
        folder = tmp_path / quarter
        folder.mkdir()
        (folder / "report.json").write_text(jsonio.dumps(data | {"schema": version, "quarter": quarter}))
    (tmp_path / "2025-Q4").mkdir()
    (tmp_path / "2025-Q4" / "report.json").write_text("{not json")
    found = earlier_reports(tmp_path, "2026-Q3")
    assert [(q, type(r)) for q, r in found] == [("2026-Q2", Report)]  # another version and unreadable: skipped
    assert found[0][1].quarter == "2026-Q2" and found[0][1].browser.suites == data["browser"]["suites"]
