"""A small dependency-free Chrome DevTools Protocol client that drives headless chromium for tests.

Chromium runs with `--remote-debugging-pipe`: it reads NUL-terminated JSON commands from fd 3 and writes
NUL-terminated responses and events to fd 4. A reader thread collects events continuously, so console errors
and requests are recorded even while a command waits for its response.

By default the browser sends every non-loopback request to a dead local proxy: external requests are still
issued (and seen in `Page.requests`) but fail at once, so a test never reaches the network and never waits for
an unreachable host.
"""

from __future__ import annotations

import base64
import contextlib
import ctypes
import ctypes.util
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from tests._programs import require
from tests.report._cdp import (
    _PR_SET_PDEATHSIG,
    JSON,
    BrowserError,
    _Connection,
    _dup_high,
    _libc,
    _subreaper,
    _wait_gone,
)


def find_chromium() -> str | None:
    """The chromium executable: $LLAMUNE_CHROMIUM, /usr/bin/chromium, or chromium/chrome on PATH; None if absent."""
    env = os.environ.get("LLAMUNE_CHROMIUM")
    if env:
        return env if os.access(env, os.X_OK) else shutil.which(env)
    if os.access("/usr/bin/chromium", os.X_OK):
        return "/usr/bin/chromium"
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def require_chromium() -> str:
    """The chromium executable, or skip (fail under LLAMUNE_REQUIRE_BROWSER=1, as in CI) when there is none."""
    why = "chromium is not installed (apt-get install chromium, or set LLAMUNE_CHROMIUM)"
    return require(find_chromium(), why, "LLAMUNE_REQUIRE_BROWSER")


def _remote_text(obj: JSON) -> str:
    """A Runtime.RemoteObject as console text."""
    if "value" in obj:
        value = obj["value"]
        return value if isinstance(value, str) else json.dumps(value)
    if "unserializableValue" in obj:
        return str(obj["unserializableValue"])
    return str(obj.get("description", obj.get("type", "")))


class Page:
    """One tab, attached through a flat CDP session, with console errors and requests recorded as they happen."""

    def __init__(self, conn: _Connection, session_id: str, target_id: str, timeout: float) -> None:
        self._conn = conn
        self._session = session_id
        self.target_id = target_id
        self.timeout = timeout
        self.console_errors: list[str] = []
        self.requests: list[str] = []
        self._loads = 0
        conn.on_events(session_id, self._on_event)

    def _on_event(self, method: str, params: JSON) -> None:
        if method == "Page.loadEventFired":
            self._loads += 1
        elif method == "Network.requestWillBeSent":
            self.requests.append(str(params["request"]["url"]))
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            text = " ".join(_remote_text(arg) for arg in params.get("args", []))
            self.console_errors.append(f"console.{params['type']}: {text}")
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            exc = details.get("exception") or {}
            where = f"{details.get('url', '')}:{details.get('lineNumber', 0) + 1}"
            self.console_errors.append(f"{details.get('text', 'exception')} {exc.get('description', '')} ({where})")
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            entry = params["entry"]
            url = f" ({entry['url']})" if entry.get("url") else ""
            self.console_errors.append(f"log.{entry.get('source', '')}: {entry.get('text', '')}{url}")

    def _send(self, method: str, params: JSON | None = None, timeout: float | None = None) -> JSON:
        return self._conn.send(method, params, self._session, timeout=timeout or self.timeout)

    def _setup(self) -> None:
        for domain in ("Page", "Runtime", "Network", "Log"):
            self._send(f"{domain}.enable")

    def goto(self, url: str) -> None:
        """Navigate and wait for the load event."""
        loads = self._loads
        result = self._send("Page.navigate", {"url": url})
        if result.get("errorText"):
            raise BrowserError(f"navigation to {url} failed: {result['errorText']}")
        self._conn.wait_until(lambda: self._loads > loads, self.timeout, f"the load event of {url}")

    def evaluate(self, expression: str) -> Any:
        """The JSON value of a JS expression (promises awaited); raise BrowserError if it throws."""
        result = self._send("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                 "awaitPromise": True, "userGesture": True})  # fmt: skip
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            desc = (details.get("exception") or {}).get("description") or details.get("text")
            raise BrowserError(f"evaluate failed: {desc}\nexpression: {expression}")
        return result["result"].get("value")

    def click(self, selector: str) -> None:
        """A real left mouse click at the centre of the first element matching `selector`, scrolled into view.

        Raises BrowserError if nothing matches, the element has no size, or another element covers its centre.
        """
        box = self.evaluate(
            f"""(() => {{
                const el = document.querySelector({json.dumps(selector)});
                if (el === null) return null;
                el.scrollIntoView({{block: "center", inline: "center", behavior: "instant"}});
                const r = el.getBoundingClientRect();
                const x = r.left + r.width / 2, y = r.top + r.height / 2;
                const hit = document.elementFromPoint(x, y);
                const covered = hit === null || hit === el || el.contains(hit) ? "" : hit.outerHTML.slice(0, 120);
                return {{x, y, w: r.width, h: r.height, covered}};
            }})()"""
        )
        if box is None:
            raise BrowserError(f"click: no element matches {selector!r}")
        if not box["w"] or not box["h"]:
            raise BrowserError(f"click: {selector!r} has no size (hidden?)")
        if box["covered"]:
            raise BrowserError(f"click: the centre of {selector!r} is covered by {box['covered']}")
        x, y = box["x"], box["y"]
        self._send("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": x, "y": y})
        for kind in ("mousePressed", "mouseReleased"):
            self._send("Input.dispatchMouseEvent", {"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1})

    def wait_for(self, expression: str, timeout: float = 5.0) -> Any:
        """Evaluate `expression` until it is truthy and return its value; raise BrowserError on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            if time.monotonic() >= deadline:
                raise BrowserError(f"timed out after {timeout:g}s waiting for {expression!r} (last value {value!r})")
            time.sleep(0.05)

    def screenshot(self, path: Path) -> None:
        """Write a full-page PNG screenshot to `path`."""
        metrics = self._send("Page.getLayoutMetrics")
        size = metrics.get("cssContentSize") or metrics["contentSize"]
        clip = {"x": 0, "y": 0, "width": max(1, size["width"]), "height": max(1, size["height"]), "scale": 1}
        shot = self._send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": clip})
        Path(path).write_bytes(base64.b64decode(shot["data"]))

    def text(self, selector: str) -> str:
        """The innerText of the first element matching `selector`."""
        value = self.evaluate(f"document.querySelector({json.dumps(selector)})?.innerText ?? null")
        if value is None:
            raise BrowserError(f"text: no element matches {selector!r}")
        return str(value)


class Browser:
    """Headless chromium in its own process group and a throwaway profile; use as a context manager."""

    def __init__(self, executable: str, timeout: float = 30.0, *, block_external: bool = True) -> None:
        self.executable = executable
        self.timeout = timeout
        self.block_external = block_external
        self._conn: _Connection | None = None
        self._tmp: Path | None = None
        self._dead_port: socket.socket | None = None

    @property
    def pid(self) -> int | None:
        """The browser process id while it runs (its process group id too)."""
        return self._conn.proc.pid if self._conn is not None else None

    @property
    def workdir(self) -> Path | None:
        """The temporary directory (profile, stderr log, XDG dirs) removed by `close()`."""
        return self._tmp

    def __enter__(self) -> Browser:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def start(self) -> None:
        """Launch chromium (done by `with Browser(...)`)."""
        if self._conn is not None:
            return
        self._tmp = Path(tempfile.mkdtemp(prefix="llamune-chromium-"))
        args = [
            self.executable,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-default-apps",
            "--disable-extensions",
            "--disable-dev-shm-usage",
            "--remote-debugging-pipe",
            f"--user-data-dir={self._tmp / 'profile'}",
            "--window-size=1400,1000",
        ]
        if self.block_external:
            # A bound but never listening port refuses connections: proxied (= non-loopback) requests fail fast.
            self._dead_port = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self._dead_port.bind(("127.0.0.1", 0))
            args.append(f"--proxy-server=http://127.0.0.1:{self._dead_port.getsockname()[1]}")
        args.append("about:blank")
        # The child must see the pipes at fds 3 and 4 exactly. pass_fds keeps fd numbers, and close_fds (forced by
        # pass_fds) would close 3 and 4 after preexec_fn, so: move the ends above 9, dup2 them in preexec_fn, and
        # rely on close_fds=False being safe because Python creates every other descriptor non-inheritable.
        cmd_r, cmd_w = os.pipe()
        resp_r, resp_w = os.pipe()
        child_cmd = _dup_high(cmd_r)
        child_resp = _dup_high(resp_w)
        for fd in (cmd_r, resp_w):
            os.close(fd)

        def child_setup() -> None:
            os.dup2(child_cmd, 3)
            os.dup2(child_resp, 4)
            if _libc is not None:  # the test process dies: so does chromium
                _libc.prctl(_PR_SET_PDEATHSIG, ctypes.c_ulong(signal.SIGKILL))

        stderr_path = self._tmp / "stderr.log"
        home = self._tmp / "home"  # dconf, crash reports and the like stay out of the real home directory
        env = os.environ | {"XDG_CONFIG_HOME": str(home / "config"), "XDG_CACHE_HOME": str(home / "cache")}
        try:
            with open(stderr_path, "wb") as err:
                proc = subprocess.Popen(
                    args, stdin=subprocess.DEVNULL, stdout=err, stderr=err, env=env, close_fds=False,
                    start_new_session=True, preexec_fn=child_setup,
                )  # fmt: skip
        except BaseException:
            for fd in (child_cmd, child_resp, cmd_w, resp_r):
                os.close(fd)
            self._cleanup_files()
            raise
        os.close(child_cmd)
        os.close(child_resp)
        self._conn = _Connection(proc, resp_r, cmd_w, stderr_path)

    def _need(self) -> _Connection:
        if self._conn is None:
            raise BrowserError("the browser is not started; use `with Browser(...) as browser:`")
        return self._conn

    def open(self, url: str) -> Page:
        """A new tab: navigate to `url` and wait for its load event."""
        conn = self._need()
        target_id = conn.send("Target.createTarget", {"url": "about:blank"}, timeout=self.timeout)["targetId"]
        attached = conn.send("Target.attachToTarget", {"targetId": target_id, "flatten": True}, timeout=self.timeout)
        page = Page(conn, attached["sessionId"], target_id, self.timeout)
        page._setup()
        page.goto(url)
        return page

    def close(self) -> None:
        """Ask chromium to quit, then kill its whole process group and remove the profile; BrowserError when a
        process of it outlived the kill."""
        conn, self._conn = self._conn, None
        left: list[tuple[int, str]] = []
        if conn is not None:
            with _subreaper() as reap:
                if conn.alive:
                    with contextlib.suppress(BrowserError):
                        conn.send("Browser.close", timeout=5)
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        conn.proc.wait(timeout=5)
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(conn.proc.pid, signal.SIGKILL)  # helpers (zygotes, renderers, gpu) share the group
                conn.proc.wait()
                left = _wait_gone(conn.proc.pid, str(self._tmp or "\0"), reap)
            conn.close()
        if self._dead_port is not None:
            self._dead_port.close()
            self._dead_port = None
        self._cleanup_files()
        if left:
            raise BrowserError(f"chromium processes (pid, state) outlived the kill of their group: {left}")

    def _cleanup_files(self) -> None:
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None
