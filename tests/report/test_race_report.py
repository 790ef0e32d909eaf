"""A raced quarter in the report: the race's spending against a full run, and per configuration the items it
answered out of the order and why it stopped, in report.json and on the page; the race's own test row in a tier's
decision. A quarter that was not raced renders exactly the page it rendered before racing existed."""

from __future__ import annotations

import html as html_text
import re
from pathlib import Path
from typing import Any

import pytest

from fixtures.synth import synthesize
from llamune_eval import jsonio
from llamune_eval.config import Config
from llamune_eval.recommend import build, publish
from llamune_eval.report import collect, make_report, render_html
from llamune_eval.report.summary import summary_section
from llamune_eval.store.races import RaceRow, save_race
from llamune_eval.store.results import Store
from tests.recommend._store import MODELS, fill, listed

QUARTER = "2026-Q4"
TOTAL = 1000
BEST = "model-d:4b:balanced"
STOPS = {  # (model, preset) -> reason, items, by
    ("model-a:1b", "balanced"): ("settled-worse", 150, BEST),
    ("model-a:1b", "creative"): ("settled-worse", 100, BEST),
    ("model-a:1b", "fast"): ("settled-worse", 150, BEST),
    ("model-b:2b", "balanced"): ("cannot-replace", 300, "model-c:3b:balanced"),
    ("model-b:2b", "creative"): ("cannot-replace", 300, "model-c:3b:balanced"),
    ("model-b:2b", "fast"): ("cannot-replace", 300, "model-c:3b:balanced"),
    ("model-c:3b", "balanced"): ("settled-best", 640, None),
    ("model-c:3b", "creative"): ("budget", 420, None),
    ("model-c:3b", "fast"): ("complete", 1000, None),
    ("model-d:4b", "balanced"): ("settled-best", 640, None),
    ("model-d:4b", "creative"): ("settled-worse", 200, BEST),
    ("model-d:4b", "fast"): ("budget", 420, None),
}
SPENT = sum(items for _, items, _ in STOPS.values())
RACE_CARD = re.compile(r'  <div class="card race">.*?</div>\n', re.S)


def _cfg(tmp: Path) -> Config:
    return Config.model_validate(
        {"paths": {"store": str(tmp / "s.duckdb"), "reports": str(tmp / "reports"), "recommended": str(tmp / "none")}}
    )


def _text(html: str, section: str) -> str:
    """One section's text, the markup between cells reduced to `|`, entities decoded."""
    found = re.search(rf'<section class="panel" id="{section}">(.*?)</section>', html, re.S)
    assert found is not None
    return html_text.unescape(re.sub(r"\s*(<[^>]+>\s*)+", "|", found.group(1)))


@pytest.fixture(scope="module")
def raced(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str]:
    """The raced quarter's report.json and index.html, as `make_report` writes them."""
    tmp = tmp_path_factory.mktemp("raced")
    cfg = _cfg(tmp)
    synthesize(cfg.paths.store, 1200)
    rows = [RaceRow(m, p, reason, items, TOTAL, by, 11, 5000, SPENT) for (m, p), (reason, items, by) in STOPS.items()]
    with Store(cfg.paths.store) as store:
        save_race(store, QUARTER, "synth0", rows)
        make_report(cfg, QUARTER, store)
    folder = cfg.paths.reports / QUARTER
    data = jsonio.loads((folder / "report.json").read_bytes())  # strict: a NaN would fail here
    return data, (folder / "index.html").read_text(encoding="utf-8")


def test_report_json_has_the_race(raced: Any) -> None:
    data, _ = raced
    race = data["race"]
    assert SPENT == 4620
    assert (race["seed"], race["budget"], race["spent"], race["full"]) == (11, 5000, 4620, 12 * 1000)
    assert race["ratio"] == pytest.approx(0.385)
    rows = {r["config"]: r for r in race["configs"]}
    assert len(rows) == 12
    assert rows["model-a:1b:fast"] == {
        "config": "model-a:1b:fast",
        "model": "model-a:1b",
        "preset": "fast",
        "reason": "settled-worse",
        "label": f"他の構成に劣ると確定（{BEST}）",
        "items": 150,
        "total": 1000,
        "share": 0.15,
        "by": BEST,
    }
    assert rows["model-b:2b:balanced"]["label"] == "現行（model-c:3b:balanced）を置き換えられないと確定"
    assert rows[BEST]["label"] == "最後まで残った（決定に必要な最小設問数まで回答）"
    assert rows["model-c:3b:fast"]["label"] == "全設問に回答" and rows["model-c:3b:fast"]["share"] == 1.0
    assert rows["model-d:4b:fast"]["label"] == "予算で打ち切り" and rows["model-d:4b:fast"]["items"] == 420


def test_the_page_shows_the_race(raced: Any) -> None:
    _, html = raced
    text = _text(html, "summary")
    assert "この四半期はレースで評価しました（シード 11、予算 5,000 リクエスト）" in text
    assert "使ったリクエストは 4,620 件で、全構成が全設問に回答した場合の 12,000 件の 38.5% です" in text
    assert "|構成|回答した設問|割合|止まった理由|" in text
    assert f"|model-a:1b:balanced|150 / 1,000|15.0%|他の構成に劣ると確定（{BEST}）|" in text
    assert "|model-b:2b:fast|300 / 1,000|30.0%|現行（model-c:3b:balanced）を置き換えられないと確定|" in text
    assert f"|{BEST}|640 / 1,000|64.0%|最後まで残った（決定に必要な最小設問数まで回答）|" in text
    assert "|model-c:3b:fast|1,000 / 1,000|100.0%|全設問に回答|" in text
    assert "|model-c:3b:creative|420 / 1,000|42.0%|予算で打ち切り|" in text
    assert text.index("レース") < text.index("推奨設定はまだありません")  # the banner leads the section
    card = RACE_CARD.search(html)
    assert card is not None and not re.search(r"https?:|src=|href=", card.group(0))  # still self-contained


def test_no_budget_reads_none(raced: Any) -> None:
    data, _ = raced
    text = _text(render_html(data | {"race": data["race"] | {"budget": None}}), "summary")
    assert "（シード 11、予算 なし）" in text


def test_a_quarter_not_raced_renders_the_page_it_did(raced: Any, tmp_path: Path) -> None:
    """The race adds its card and nothing else; without a race the page is byte for byte what it was."""
    data, html = raced
    plain = render_html(data | {"race": None})
    assert RACE_CARD.search(html) and RACE_CARD.sub("", html) == plain
    assert "レース" not in plain
    cfg = _cfg(tmp_path)
    synthesize(cfg.paths.store, 1200)
    with Store(cfg.paths.store) as store:
        again = collect(store, cfg, QUARTER)
    assert again["race"] is None
    same = again | {k: data[k] for k in ("generatedAt", "runs", "summary")}
    assert render_html(same) == plain


def test_the_race_settling_the_incumbent_worse_shows_in_the_decision(raced: Any, tmp_path: Path) -> None:
    data, _ = raced
    out = tmp_path / "recommended"
    cfg = Config()
    with fill(tmp_path / "old.duckdb", {"B": MODELS["B"], "C": MODELS["C"]}) as store:
        publish(out, build(store, cfg, "2025-Q4", listed(), out), None)
    with fill(tmp_path / "new.duckdb") as store:
        save_race(
            store, "2026-Q1", "r1", [RaceRow("B", "general", "settled-worse", 75, 200, "A:general", 3, None, 900)]
        )
        publish(out, build(store, cfg, "2026-Q1", listed(), out), None)
    html = render_html(data | {"summary": summary_section(out, "2026-Q1")})
    text = _text(html, "summary")
    assert (
        "|race|anytime-valid confidence sequence|75|-|-|-|-|A:general|"
        "（B:general は 75 問の時点で A:general に劣ると確定（レース））|"
    ) in text
