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
    """What both drivers share: waiting until the session has printed something (`count` times)."""

    @property
    def output(self) -> str:
        raise NotImplementedError

    def ended(self) -> bool:
        return False

    def wait_for(self, text: str, count: int = 1, timeout: float = 180) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.output.count(text) >= count:
                return self.output
            if self.ended():
                time.sleep(0.2)  # what it printed last may still be in the pipe
                if self.output.count(text) >= count:
                    return self.output
                raise AssertionError(f"llamune ended before {text!r}:\n{self.output}")
            time.sleep(0.05)
        raise AssertionError(f"{text!r} never appeared {count} time(s):\n{self.output}")


class PipeChat(Chat):
    def __init__(self, cwd: Path, env: dict[str, str], *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "llamune_eval.chat.cli", "chat", *args], cwd=cwd, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env={**env, "PYTHONUNBUFFERED": "1", "COLUMNS": "200"},
        )  # fmt: skip
        self.chunks: list[str] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in iter(lambda: self.proc.stdout.read1(65536), b""):  # type: ignore[union-attr]
            with self.lock:
                self.chunks.append(raw.decode(errors="replace"))

    @property
    def output(self) -> str:
        with self.lock:
            return "".join(self.chunks)

    def ended(self) -> bool:
        return self.proc.poll() is not None

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

    def send(self, line: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.name, "-l", line], check=True)
        subprocess.run(["tmux", "send-keys", "-t", self.name, "Enter"], check=True)

    def close(self, timeout: float = 120) -> int:
        out = self.wait_for("[exit ", timeout=timeout)
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True)
        return int(out.rsplit("[exit ", 1)[1].split("]", 1)[0])
