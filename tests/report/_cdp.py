"""The transport under `_browser`: chromium's `--remote-debugging-pipe` (NUL-terminated JSON on fds 3 and 4),
a reader thread that buffers events while commands wait, and the process-group cleanup that leaves no orphan."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import fcntl
import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

JSON = dict[str, Any]
EventHandler = Callable[[str, JSON], None]

_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36
_PR_GET_CHILD_SUBREAPER = 37
_libc: Any = None
with contextlib.suppress(OSError):
    _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def _dup_high(fd: int) -> int:
    """A non-inheritable duplicate of `fd` numbered 10 or more (clear of the child's fds 3 and 4)."""
    return fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)


def _leftovers(pgid: int, marker: str) -> list[tuple[int, str]]:
    """(pid, state) of the processes in group `pgid` (zombies too) or with `marker` in their command line.

    The marker (the temporary directory) also finds the crashpad handlers, which chromium starts in sessions
    of their own; their crash database lives under it because XDG_CONFIG_HOME does.
    """
    found = []
    with contextlib.suppress(OSError):
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                with open(f"/proc/{entry.name}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                with open(f"/proc/{entry.name}/cmdline", "rb") as f:
                    cmdline = f.read().decode(errors="replace")
            except OSError:
                continue
            if int(fields[2]) == pgid or marker in cmdline:
                found.append((int(entry.name), fields[0]))
    return found


@contextlib.contextmanager
def _subreaper() -> Iterator[bool]:
    """Make this process a child subreaper for a moment: what the browser orphans on exit becomes ours to reap.

    Without it the zygotes outlive the browser by a few milliseconds, are handed to init and stay zombies (listed
    by `pgrep chromium`) until init gets round to reaping them, which takes seconds, or forever in a container
    whose init does not reap. Yields whether it worked.
    """
    was = ctypes.c_int(0)
    if _libc is None or _libc.prctl(_PR_GET_CHILD_SUBREAPER, ctypes.byref(was)) != 0:
        yield False
        return
    if not was.value and _libc.prctl(_PR_SET_CHILD_SUBREAPER, ctypes.c_ulong(1)) != 0:
        yield False
        return
    try:
        yield True
    finally:
        if not was.value:
            _libc.prctl(_PR_SET_CHILD_SUBREAPER, ctypes.c_ulong(0))


def _wait_gone(pgid: int, marker: str, reap: bool, timeout: float = 3.0) -> list[tuple[int, str]]:
    """Kill whatever of this browser still runs and wait until it is gone, reaping the group's zombies if we may;
    what is still there after `timeout` (empty when all is gone)."""
    deadline = time.monotonic() + timeout
    while True:
        if reap:  # only children in the browser's group: never steals another subprocess's exit status
            with contextlib.suppress(ChildProcessError):
                while os.waitpid(-pgid, os.WNOHANG)[0] > 0:
                    pass
        left = _leftovers(pgid, marker)
        if not left or time.monotonic() >= deadline:
            return left
        for pid, state in left:
            if state != "Z":
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
        time.sleep(0.02)


class BrowserError(RuntimeError):
    """Chromium exited, a command failed or timed out, or the page did not do what was asked."""


class _Connection:
    """The pipe pair to chromium: numbered commands out, responses and events in (read by a daemon thread)."""

    def __init__(self, proc: subprocess.Popen[bytes], read_fd: int, write_fd: int, stderr_path: Path) -> None:
        self.proc = proc
        self._read_fd = read_fd
        self._write_fd = write_fd
        self._stderr_path = stderr_path
        self._cond = threading.Condition()
        self._write_lock = threading.Lock()
        self._responses: dict[int, JSON] = {}
        self._handlers: dict[str | None, EventHandler] = {}
        self._next_id = 0
        self._eof = False
        self._reader_error = ""
        self._reader = threading.Thread(target=self._read_loop, name="cdp-reader", daemon=True)
        self._reader.start()

    def stderr_tail(self, chars: int = 3000) -> str:
        try:
            text = self._stderr_path.read_text(errors="replace")
        except OSError:
            return ""
        return text[-chars:]

    def failure(self, what: str) -> BrowserError:
        """An error that says what went wrong, whether chromium is still alive, and the end of its stderr."""
        if self._eof:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=1)  # EOF came first: let the exit status arrive
        code = self.proc.poll()
        state = "running" if code is None else f"exited with code {code}"
        reader = f"\n{self._reader_error}" if self._reader_error else ""
        return BrowserError(f"{what} (chromium {state}){reader}\n--- chromium stderr (tail) ---\n{self.stderr_tail()}")

    @property
    def alive(self) -> bool:
        return not self._eof and self.proc.poll() is None

    def on_events(self, session_id: str | None, handler: EventHandler) -> None:
        """Route events of one session (None: the browser target) to `handler(method, params)` on the reader."""
        with self._cond:
            self._handlers[session_id] = handler

    def _read_loop(self) -> None:
        buf = b""
        while True:
            try:
                chunk = os.read(self._read_fd, 1 << 16)
            except OSError:
                chunk = b""
            if not chunk:
                break
            buf += chunk
            *messages, buf = buf.split(b"\0")
            for raw in messages:
                try:
                    self._dispatch(json.loads(raw))
                except Exception as exc:  # a bad message or handler must not stop the reader
                    self._reader_error = self._reader_error or f"reader: {exc!r} on {raw[:200]!r}"
        with self._cond:
            self._eof = True
            self._cond.notify_all()

    def _dispatch(self, msg: JSON) -> None:
        if "id" in msg:
            with self._cond:
                self._responses[int(msg["id"])] = msg
                self._cond.notify_all()
            return
        with self._cond:
            handler = self._handlers.get(msg.get("sessionId"))
        if handler is not None:
            handler(str(msg.get("method", "")), msg.get("params", {}))
        with self._cond:
            self._cond.notify_all()  # event waiters re-check their conditions

    def send(self, method: str, params: JSON | None = None, session_id: str | None = None, *, timeout: float) -> JSON:
        """Send one command and wait for its result; raise BrowserError on a protocol error, exit or timeout."""
        with self._cond:
            self._next_id += 1
            cmd_id = self._next_id
        msg: JSON = {"id": cmd_id, "method": method, "params": params or {}}
        if session_id is not None:
            msg["sessionId"] = session_id
        data = json.dumps(msg).encode() + b"\0"
        try:
            with self._write_lock:
                view = memoryview(data)
                while view:
                    view = view[os.write(self._write_fd, view) :]
        except OSError as exc:
            raise self.failure(f"cannot send {method}: {exc}") from exc
        try:
            self.wait_until(lambda: cmd_id in self._responses, timeout, f"the response to {method}")
        finally:
            with self._cond:
                reply = self._responses.pop(cmd_id, None)
        if reply is None:  # unreachable: wait_until returned, so the response is there
            raise self.failure(f"{method}: no response")
        if "error" in reply:
            err = reply["error"]
            raise BrowserError(f"{method} failed: {err.get('message')} ({err.get('code')}) {err.get('data', '')}")
        result: JSON = reply.get("result", {})
        return result

    def wait_until(self, predicate: Callable[[], bool], timeout: float, what: str) -> None:
        """Block until `predicate()` (checked after every incoming event) holds."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate():
                if not self.alive:
                    raise self.failure(f"chromium went away while waiting for {what}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise self.failure(f"timed out after {timeout:g}s waiting for {what}")
                self._cond.wait(min(left, 0.25))  # woken by every message; the slice notices a silent exit

    def close(self) -> None:
        self._reader.join(timeout=5)
        for fd in (self._write_fd, self._read_fd):
            with contextlib.suppress(OSError):
                os.close(fd)
