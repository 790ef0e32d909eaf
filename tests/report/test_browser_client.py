"""The test browser client itself: a real click, console errors, recorded requests and a screenshot."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.report._browser import Browser, require_chromium
from tests.report._cdp import BrowserError, _leftovers

pytestmark = pytest.mark.engine  # chromium
EXTERNAL_IMG = "http://10.255.255.1/x.png"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with Browser(require_chromium()) as b:
        yield b


def _write(tmp_path: Path, name: str, body: str) -> str:
    path = tmp_path / name
    path.write_text(f"<!doctype html><html><head><meta charset='utf-8'></head><body>{body}</body></html>")
    return path.as_uri()


def test_click_appends_a_div(browser: Browser, tmp_path: Path) -> None:
    url = _write(
        tmp_path,
        "click.html",
        """<style>html { scroll-behavior: smooth }</style>
        <button id="go" style="margin-top: 1500px">add</button>
        <p style="position: relative"><button id="under">under</button><i style="position: absolute; inset: 0"></i></p>
        <script>
          document.getElementById("go").addEventListener("click", (e) => {
            const div = document.createElement("div");
            div.id = "added";
            div.textContent = "clicked " + e.isTrusted;
            document.body.appendChild(div);
          });
        </script>""",
    )
    page = browser.open(url)
    assert page.requests[0] == url
    assert page.evaluate("document.getElementById('added')") is None
    page.click("#go")  # below the fold: scrolled into view first
    assert page.wait_for("document.getElementById('added') !== null") is True
    assert page.text("#added") == "clicked true"  # a real (trusted) mouse event, not el.click()
    assert page.evaluate("Promise.resolve(6 * 7)") == 42
    assert page.console_errors == []
    with pytest.raises(BrowserError, match="no element"):
        page.click("#missing")
    with pytest.raises(BrowserError, match="covered"):
        page.click("#under")
    with pytest.raises(BrowserError, match="boom"):
        page.evaluate("(() => { throw new Error('boom') })()")
    with pytest.raises(BrowserError, match="timed out"):
        page.wait_for("false", timeout=0.3)

    shot = tmp_path / "shot.png"
    page.screenshot(shot)
    assert shot.read_bytes().startswith(b"\x89PNG")


def test_console_error_is_captured(browser: Browser, tmp_path: Path) -> None:
    page = browser.open(_write(tmp_path, "err.html", '<p>hi</p><script>console.error("x")</script>'))
    assert page.console_errors == ["console.error: x"]
    page.evaluate("setTimeout(() => { throw new Error('late') }, 0)")
    page.wait_for("new Promise((r) => setTimeout(() => r(true), 50))")
    assert any("late" in e for e in page.console_errors[1:])


def test_external_request_is_recorded(browser: Browser, tmp_path: Path) -> None:
    url = _write(tmp_path, "img.html", f'<img src="{EXTERNAL_IMG}">')
    page = browser.open(url)
    assert page.requests == [url, EXTERNAL_IMG]
    assert any(EXTERNAL_IMG in e for e in page.console_errors)  # the failed load is logged as an error


def test_close_leaves_no_process_and_no_files(tmp_path: Path) -> None:
    with Browser(require_chromium()) as b:
        b.open(_write(tmp_path, "a.html", "<p>a</p>"))
        pid, workdir = b.pid, b.workdir
    assert pid is not None and workdir is not None
    assert not workdir.exists()
    assert not _leftovers(pid, str(workdir))  # browser, zygotes, renderers, crashpad: gone, zombies reaped
