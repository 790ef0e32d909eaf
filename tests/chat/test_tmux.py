"""A person at a terminal: tmux runs `llamune chat`, keys are typed, the screen is read."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.chat.test_repl import SETTINGS

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


def _screen(name: str) -> str:
    return subprocess.run(["tmux", "capture-pane", "-p", "-t", name, "-S", "-200"], capture_output=True,
                          text=True).stdout  # fmt: skip


def _wait_for(name: str, text: str, timeout: float = 90) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        screen = _screen(name)
        if text in screen:
            return screen
        time.sleep(0.2)
    raise AssertionError(f"{text!r} never appeared:\n{_screen(name)}")


def _type(name: str, line: str) -> None:
    subprocess.run(["tmux", "send-keys", "-t", name, "-l", line], check=True)
    subprocess.run(["tmux", "send-keys", "-t", name, "Enter"], check=True)


def test_a_person_chats_rates_and_rewinds(tmp_path: Path, smollm2_path: Path) -> None:
    (tmp_path / "llamune.toml").write_text(
        f'[[engines]]\nkind = "embedded"\nparallel = 1\nctx_per_slot = 1024\n'
        f'models = [{{ name = "smol", path = "{smollm2_path}" }}]\n'
    )
    only_smol = SETTINGS.replace('executionOrder = ["smol", "qwen"]', 'executionOrder = ["smol"]')
    (tmp_path / "settings.toml").write_text(only_smol, encoding="utf-8")
    name = f"llamune-{os.getpid()}"
    cmd = (f"cd {tmp_path} && LLAMUNE_SETTINGS={tmp_path / 'settings.toml'} {sys.executable} -m "
           "llamune_eval.chat.cli chat --db chat.sqlite")  # fmt: skip
    subprocess.run(["tmux", "new-session", "-d", "-s", name, "-x", "160", "-y", "50", cmd], check=True)
    try:
        _wait_for(name, "/help でコマンド一覧")
        _type(name, "Say hello.")
        _wait_for(name, "tok/s")
        _type(name, "/good")
        _wait_for(name, "評価を記録しました")
        _type(name, "Name a colour.")
        screen = _wait_for(name, "/help でコマンド一覧")
        deadline = time.monotonic() + 60
        while _screen(name).count("tok/s") < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        _type(name, "/rewind 1")
        _wait_for(name, "no, n  - キャンセル")
        _type(name, "no")
        _wait_for(name, "キャンセルしました")
        _type(name, "/rewind 1")
        _wait_for(name, "実行（往復 #2 以降を削除）")
        _type(name, "yes")
        _wait_for(name, "会話 #1 まで巻き戻しました")
        _type(name, "/history")
        screen = _wait_for(name, "1. あなた: Say hello.")
        assert "Name a colour." not in screen.split("/history")[-1]
        _type(name, "/quit")
        deadline = time.monotonic() + 30
        while subprocess.run(["tmux", "has-session", "-t", name], capture_output=True).returncode == 0:
            if time.monotonic() > deadline:
                raise AssertionError("llamune did not exit on /quit")
            time.sleep(0.2)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", name], capture_output=True)
