"""A report over thousands of samples in a real browser: the sample browser pages and filters, and stays light."""

from __future__ import annotations

from pathlib import Path

import pytest

from fixtures.synth import synthesize
from llamune_eval.config import Config
from llamune_eval.report import make_report
from llamune_eval.store.results import Store
from tests.report._browser import Browser, require_chromium

pytestmark = pytest.mark.engine  # chromium


def test_sample_browser_pages_and_filters(tmp_path: Path) -> None:
    chromium = require_chromium()
    cfg = Config.model_validate({"paths": {"store": str(tmp_path / "s.duckdb"), "reports": str(tmp_path / "r"),
                                           "recommended": str(tmp_path / "rec")}})  # fmt: skip
    synthesize(cfg.paths.store, 6000, extra_outputs={0: "<script>window.__xss = 1</script>"})
    with Store(cfg.paths.store) as store:
        written = make_report(cfg, "2026-Q4", store)
    html = next(p for p in written if p.suffix == ".html")
    url = html.resolve().as_uri()
    with Browser(chromium) as browser:
        page = browser.open(url + "#samples")
        assert page.evaluate("document.querySelector('#samples').classList.contains('shown')")
        info = page.text("#page-info")
        pages = int(info.split(" / ")[1].split(" ")[0])
        assert info.startswith("1 / ") and pages > 10
        assert page.evaluate("document.querySelectorAll('#items .item').length") == 20  # one page in the DOM
        first = page.evaluate("document.querySelector('#items .item').dataset.item")
        page.click("#next")
        assert page.text("#page-info").startswith("2 / ")
        assert page.evaluate("document.querySelector('#items .item').dataset.item") != first
        page.click("#prev")
        assert page.text("#page-info").startswith("1 / ")
        page.evaluate("(s => { s.value = 'model-b:2b'; s.dispatchEvent(new Event('change')); })"
                      "(document.getElementById('f-model'))")  # fmt: skip
        who = page.evaluate("[...document.querySelectorAll('#items .answer .who')].map(w => w.firstChild.textContent)")
        assert who and all(w.startswith("model-b:2b:") for w in who)
        page.evaluate("(s => { s.value = 'fast'; s.dispatchEvent(new Event('change')); })"
                      "(document.getElementById('f-preset'))")  # fmt: skip
        who = page.evaluate("[...document.querySelectorAll('#items .answer .who')].map(w => w.firstChild.textContent)")
        assert who and all(w.strip() == "model-b:2b:fast" for w in who)
        page.evaluate("(i => { i.value = 'script'; i.dispatchEvent(new Event('input')); })"
                      "(document.getElementById('f-text'))")  # fmt: skip
        for sel in ("f-model", "f-preset"):
            page.evaluate(f"(s => {{ s.value = ''; s.dispatchEvent(new Event('change')); }})"
                          f"(document.getElementById('{sel}'))")  # fmt: skip
        assert "<script>window.__xss = 1</script>" in page.text("#items")
        assert page.evaluate("window.__xss === undefined")
        assert page.console_errors == []
        assert page.requests == [url]  # the file itself, nothing else
