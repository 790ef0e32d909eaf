"""`llamune chat` as a person drives it, one line at a time after reading what it printed: on pipes, or on a
terminal in tmux. Both answer `wait_for`, `send` and `close`, so a scenario reads the same on either."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest


class Chat:
    """What both drivers share: waiting until the session has printed something (`count` times), an
    AssertionError when it ended or `timeout` passed first."""

    @property
    def output(self) -> str:
        raise NotImplementedError

    def wait_for(self, text: str, count: int = 1, timeout: float = 180) -> str:
        raise NotImplementedError


class PipeChat(Chat):
    def __init__(self, cwd: Path, env: dict[str, str], *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "llamune_eval.chat.cli", "chat", *args], cwd=cwd, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env={**env, "PYTHONUNBUFFERED": "1", "COLUMNS": "200"},
        )  # fmt: skip
        self.chunks: list[str] = []
        self.eof = False
        self.changed = threading.Condition()  # notified at every chunk read and at the end of the output
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in iter(lambda: self.proc.stdout.read1(65536), b""):  # type: ignore[union-attr]
            with self.changed:
                self.chunks.append(raw.decode(errors="replace"))
                self.changed.notify_all()
        with self.changed:
            self.eof = True
            self.changed.notify_all()

    @property
    def output(self) -> str:
        with self.changed:
            return "".join(self.chunks)

    def wait_for(self, text: str, count: int = 1, timeout: float = 180) -> str:
        with self.changed:
            self.changed.wait_for(lambda: self.eof or "".join(self.chunks).count(text) >= count, timeout)
            out, ended = "".join(self.chunks), self.eof
        if out.count(text) >= count:
            return out
        why = "llamune ended before" if ended else f"not after {timeout:g}s:"
        raise AssertionError(f"{why} {text!r} ({count} time(s)):\n{out}")

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line.encode() + b"\n")
        self.proc.stdin.flush()

    def close(self, timeout: float = 120) -> int:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        return self.proc.wait(timeout)


class TmuxChat(Chat):
    """A 160 x 50 terminal: the line editor draws the prompt, notices land above it, keys are typed."""

    def __init__(self, cwd: Path, env: dict[str, str], *args: str) -> None:
        if shutil.which("tmux") is None:
            pytest.skip("tmux is not installed (apt-get install tmux)")
        self.name = f"llamune-e2e-{id(self)}"
        exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items() if k.isidentifier())
        cmd = (f"cd {shlex.quote(str(cwd))} && env -i {exports} {shlex.quote(sys.executable)} -m llamune_eval.chat.cli "
               f"chat {' '.join(map(shlex.quote, args))}; echo \"[exit $?]\"")  # fmt: skip
        subprocess.run(["tmux", "new-session", "-d", "-s", self.name, "-x", "160", "-y", "50", cmd, ";",
                        "set-option", "-w", "-t", self.name, "remain-on-exit", "on"], check=True)  # fmt: skip

    @property
    def output(self) -> str:
        return subprocess.run(["tmux", "capture-pane", "-p", "-J", "-t", self.name, "-S", "-5000"], capture_output=True,
                              text=True).stdout  # fmt: skip

    def wait_for(self, text: str, count: int = 1, timeout: float = 180) -> str:
        """tmux tells no one when its screen changes: the screen is read every 50 ms until `timeout`."""
        deadline = time.monotonic() + timeout
        while (out := self.output).count(text) < count:
            if time.monotonic() >= deadline:
                raise AssertionError(f"not after {timeout:g}s: {text!r} ({count} time(s)):\n{out}")
            time.sleep(0.05)
        return out

    def send(self, line: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.name, "-l", line], check=True)
        subprocess.run(["tmux", "send-keys", "-t", self.name, "Enter"], check=True)

    def close(self, timeout: float = 120) -> int:
        out = self.wait_for("[exit ", timeout=timeout)
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True)
        return int(out.rsplit("[exit ", 1)[1].split("]", 1)[0])
