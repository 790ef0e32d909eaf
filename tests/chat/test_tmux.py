"""A person at a terminal: tmux runs `llamune chat`, keys are typed, the screen is read."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import sqlite3
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.chat._settings_files import recommended_file
from tests.chat.test_repl import SETTINGS, chat_dir  # noqa: F401 (the two-model fixture)

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")

NOTICE = "他のLLMからも回答が届きました（qwen）: /others で表示 · 続けて入力すれば無視します"


def _screen(name: str) -> str:
    return subprocess.run(["tmux", "capture-pane", "-p", "-t", name, "-S", "-200"], capture_output=True,
                          text=True).stdout  # fmt: skip


def _wait_for(name: str, text: str, timeout: float = 90) -> str:
    return _until(name, lambda screen: text in screen, f"{text!r} appeared", timeout)


def _type(name: str, line: str) -> None:
    subprocess.run(["tmux", "send-keys", "-t", name, "-l", line], check=True)
    subprocess.run(["tmux", "send-keys", "-t", name, "Enter"], check=True)


def _lines(screen: str) -> list[str]:
    return [line.rstrip() for line in screen.splitlines() if line.strip()]


def _last(screen: str) -> str:
    """The last line with anything on it: the prompt, with what is typed on it."""
    return (_lines(screen) or [""])[-1]


def _squash(text: str) -> str:
    """Text without white space: what the terminal wrapped at 160 columns reads as the text it shows."""
    return "".join(text.split())


def _until(name: str, check: Callable[[str], bool], what: str, timeout: float = 180, poll: float = 0.2) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        screen = _screen(name)
        if check(screen):
            return screen
        time.sleep(poll)
    raise AssertionError(f"never: {what}\n{_screen(name)}")


def _enter(name: str, line: str, expect: str, *, prompt: str = ">", echo: str | None = None) -> str:
    """Type `line` and Enter, wait until `expect` appears once more and `prompt` is the last line again; return
    what was printed between the echoed line and that prompt."""
    echo = f"> {line}\n" if echo is None else echo
    seen = _screen(name).count(expect)
    _type(name, line)
    screen = _until(name, lambda s: s.count(expect) > seen and _last(s) == prompt, f"{expect!r} after {line!r}")
    return screen.rsplit(echo, 1)[1].rstrip().removesuffix(prompt).rstrip()


def _key(name: str, key: str, last_line: str) -> str:
    """Press a key (Up, C-u, …) and wait until the prompt line reads `last_line`."""
    subprocess.run(["tmux", "send-keys", "-t", name, key], check=True)
    return _until(name, lambda s: _last(s) == last_line, f"{last_line!r} after {key}")


def _exit_status(name: str) -> int:
    """The status the chat's process ended with, as the pane's shell tells it (the pane stays: remain-on-exit)."""
    screen = _until(name, lambda s: re.search(r"^\[exit \d+\]$", s, re.MULTILINE) is not None, "the end", 60)
    return int(re.findall(r"^\[exit (\d+)\]$", screen, re.MULTILINE)[-1])


def _start(name: str, cwd: Path, *args: str) -> None:
    # the terminal gives the size, not a COLUMNS=80 that a new tmux server copies from the test process
    env = f"env -u COLUMNS -u LINES HF_HUB_OFFLINE=1 LLAMUNE_SETTINGS={shlex.quote(str(cwd / 'settings.toml'))}"
    cmd = (f"cd {shlex.quote(str(cwd))} && {env} {shlex.quote(sys.executable)} -m llamune_eval.chat.cli chat "
           f"--db chat.sqlite --recommended recommended {' '.join(args)}; echo \"[exit $?]\"")  # fmt: skip
    subprocess.run(["tmux", "new-session", "-d", "-s", name, "-x", "160", "-y", "50", cmd, ";",
                    "set-option", "-w", "-t", name, "remain-on-exit", "on"], check=True)  # fmt: skip


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
        _until(name, lambda s: s.count("tok/s") >= 2, "the second answer", 60)
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


def test_a_whole_session_at_a_terminal(chat_dir: Path) -> None:  # noqa: F811 (the fixture)
    """The issue's acceptance list, typed at a 160x50 terminal with both bundled models on the embedded engine:
    a question, qwen's notice arriving while a line is half typed, /others, /retry adopted, /rewind cancelled then
    done, /rate, /title, a newer recommendation found mid-session and applied, /quit; the session resumed (its
    history, the editor's history file); then the database."""
    from llamune_eval.presets import BUILTIN

    recommended_file(chat_dir / "recommended", "2026-Q1", ["smol", "qwen"])
    name, again = f"llamune-{os.getpid()}-session", f"llamune-{os.getpid()}-resumed"
    try:
        _start(name, chat_dir)
        # 1. the header names the new session; the custom settings are based on the newest file: no card
        screen = _until(name, lambda s: "/help でコマンド一覧" in s and _last(s) == ">", "the first prompt")
        header, *rest = _lines(screen)
        found = re.fullmatch(r"llamune · smol · セッション ([0-9a-f]{12}) · エンジン通信 [\d,]+ B · 外部通信 0 B "
                             r"\(遮断 0 件\)", header)  # fmt: skip
        assert found, header
        sid = found[1]
        assert rest == ["/help でコマンド一覧", ">"]

        # 2. a question, answered by smol with its stats line
        _type(name, "Say hello.")
        _until(name, lambda s: "tok/s" in s, "the answer's stats line", poll=0.05)
        # 3. at once a line is half typed (no Enter); qwen's cross-check, queued behind smol, arrives meanwhile
        subprocess.run(["tmux", "send-keys", "-t", name, "-l", "half typed"], check=True)
        typing = _until(name, lambda s: _last(s) == "> half typed", "the half-typed line", poll=0.05)
        assert "他のLLMからも回答が届きました" not in typing, "qwen answered before the line was typed"
        main_shown, stats = typing.split("> Say hello.\n", 1)[1].rsplit("\nsmol · ", 1)
        main_stats = re.match(r"(\d+) tokens · TTFT \d+\.\d\ds · \d+\.\d tok/s\n", stats)
        assert main_stats, stats
        screen = _until(name, lambda s: NOTICE in s and _last(s) == "> half typed", "the notice")
        assert _lines(screen)[-2:] == [NOTICE, "> half typed"]  # printed above the prompt, the line kept as typed
        screen = _key(name, "C-u", ">")  # the person thinks better of it: the line is cleared, nothing is sent
        assert "half typed" not in screen and _lines(screen)[-2:] == [NOTICE, ">"]

        # 4. /others: qwen's answer to question 1
        others = _enter(name, "/others", "（質問 1）")
        others_title, others_shown = others.split("\n", 1)
        assert others_title == "1. qwen（質問 1）"

        # 5. /retry: every installed model × (settings, presets), the current one starred; qwen chosen and adopted
        menu = _enter(name, "/retry", "番号を選んでください:", prompt="番号を選んでください:")
        options = [(m, p) for m in ("smol", "qwen") for p in ("settings", *BUILTIN)]
        assert menu.splitlines() == [f" {i}. {m} ({p})" + (" ⭐" if i == 1 else "")
                                     for i, (m, p) in enumerate(options, 1)]  # fmt: skip
        number = str(options.index(("qwen", "settings")) + 1)
        retried = _enter(name, number, "💡 この回答を採用しますか？", echo=f"番号を選んでください: {number}\n")
        rerun, rest_ = retried.split("\n", 1)
        assert rerun == "🔄 qwen (settings) で再実行..."
        retry_shown, question = rest_.rsplit("\n💡 ", 1)
        retry_shown, retry_stats = retry_shown.rsplit("\n", 1)
        assert re.fullmatch(r"qwen · \d+ tokens · TTFT \d+\.\d\ds · \d+\.\d tok/s", retry_stats), retry_stats
        assert question.splitlines() == ["この回答を採用しますか？", "  yes, y - 採用（新しい回答を保存）",
                                         "  no, n  - 破棄（元の回答を維持）"]  # fmt: skip
        assert _enter(name, "yes", "✅ qwen の回答を採用しました") == "✅ qwen の回答を採用しました"

        # 6. a second question (and its cross-check), then /rewind 1: cancelled, then done
        second = _enter(name, "Name a colour.", "tok/s")
        assert re.search(r"\nsmol · \d+ tokens · TTFT \d+\.\d\ds · \d+\.\d tok/s$", second), second
        _until(name, lambda s: s.count("他のLLMからも回答が届きました") == 2 and _last(s) == ">", "the 2nd notice")
        asked = ["⚠️ 会話 #1 まで巻き戻しますか？", "  yes, y - 実行（往復 #2 以降を削除）", "  no, n  - キャンセル"]
        assert _enter(name, "/rewind 1", "no, n  - キャンセル").splitlines() == asked
        assert _enter(name, "no", "キャンセルしました") == "キャンセルしました"
        assert _enter(name, "/rewind 1", "no, n  - キャンセル").splitlines() == asked
        # the question, smol's answer and qwen's cross-check of turn 2
        assert _enter(name, "yes", "✅ 会話 #1 まで巻き戻しました").splitlines() == [
            "✅ 会話 #1 まで巻き戻しました", "削除されたメッセージ: 3件（記録は残ります）"]  # fmt: skip
        history = _enter(name, "/history", "1. あなた: Say hello.")
        assert history.startswith("1. あなた: Say hello.\n1. qwen: ") and "Name a colour." not in history

        # 7. /rate on the answer in force, 8. /title
        assert _enter(name, "/rate 5 4 4 とても役立った", "評価を記録しました") == (
            "評価を記録しました（回答の正確性 5 · 日本語の自然さ 4 · 有用性 4）"
        )
        assert _enter(name, "/title 挨拶のテスト", "にしました") == "タイトルを「挨拶のテスト」にしました"
        assert _enter(name, "/title", "タイトル: ") == "タイトル: 挨拶のテスト"

        # 9. a newer recommendation published while the session runs: /settings finds it, /settings apply uses it
        recommended_file(chat_dir / "recommended", "2026-Q2", ["qwen", "smol"], oldVersion="2026-Q1",
                     changes=["実行順序を qwen, smol に変更"])  # fmt: skip
        assert _enter(name, "/settings", "新しい推奨設定 2026-Q2 があります").splitlines() == [
            "設定: custom 2026-Q1 — your custom settings take precedence", "実行順: smol, qwen · 同時実行: 1",
            "新しい推奨設定 2026-Q2 があります: 追加 - · 廃止 -",
            "/settings apply で推奨設定に切り替え、/settings keep で今の設定を使い続けます",
        ]  # fmt: skip
        applied = _enter(name, "/settings apply", "に切り替えました")
        assert re.fullmatch(r"推奨設定 2026-Q2 に切り替えました（recommended 2026-Q2, tier 1 GB for this machine's "
                            r"\d+ GB）· メインのモデル: qwen", applied), applied  # fmt: skip
        now = _enter(name, "/settings", "設定: recommended").splitlines()
        assert now[0].startswith("設定: recommended 2026-Q2 — recommended 2026-Q2, tier 1 GB") and now[1:] == [
            "実行順: qwen, smol · 同時実行: 1"]  # fmt: skip
        # from the next question on, the new main model answers and the old one cross-checks
        stats = _enter(name, "Say hi.", "tok/s").splitlines()[-1]
        assert stats.startswith("qwen · "), stats
        _until(name, lambda s: "他のLLMからも回答が届きました（smol）" in s, "smol's cross-check")

        # 10. /quit: the process ends, having told the traffic (none of it external)
        _type(name, "/quit")
        assert _exit_status(name) == 0
        assert re.search(r"\n> /quit\n通信量: エンジン [\d,]+ B · 外部 0 B\n\[exit 0\]\n", _screen(name)), _screen(name)

        # 11. resumed: the same session, on the recommendation applied last time (the custom file is unchanged since);
        # no card for the file the user chose themselves
        _start(again, chat_dir, "-s", sid)
        screen = _until(again, lambda s: "/help でコマンド一覧" in s and _last(s) == ">", "the resumed session")
        assert _lines(screen)[0].startswith(f"llamune · qwen · セッション {sid} ·"), screen
        assert "🎉" not in screen
        _key(again, "Up", "> /quit")  # the last line typed in the previous run
        _key(again, "C-u", ">")
        now = _enter(again, "/settings", "設定: recommended").splitlines()
        assert now[0].startswith("設定: recommended 2026-Q2 — recommended 2026-Q2, tier 1 GB")
        assert _squash(f"(/settings apply で選択; {chat_dir / 'settings.toml'} はその後変更されていません)") in _squash(
            "".join(now))  # fmt: skip
        resumed_history = _enter(again, "/history", "1. あなた: Say hello.")
        assert _squash(resumed_history).startswith(_squash(history) + "2.あなた:Sayhi.2.qwen:")
        _type(again, "/quit")
        assert _exit_status(again) == 0
    finally:
        for session in (name, again):
            subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)

    # the editor's history: beside the database, owner-only, the questions and commands (not the answers to menus
    # and yes/no questions, nor the cleared line); a line repeated at once is kept once
    kept = chat_dir / "history"
    assert stat.S_IMODE(os.stat(kept).st_mode) == 0o600
    assert [ln[1:] for ln in kept.read_text(encoding="utf-8").splitlines() if ln.startswith("+")] == [
        "Say hello.", "/others", "/retry", "Name a colour.", "/rewind 1", "/history", "/rate 5 4 4 とても役立った",
        "/title 挨拶のテスト", "/title", "/settings", "/settings apply", "/settings", "Say hi.", "/quit", "/settings",
        "/history", "/quit",
    ]  # fmt: skip

    con = sqlite3.connect(chat_dir / "chat.sqlite")
    con.row_factory = sqlite3.Row
    [session] = con.execute("SELECT * FROM sessions").fetchall()
    assert (session["id"], session["title"], session["model"]) == (sid, "挨拶のテスト", "qwen")
    messages = con.execute("SELECT * FROM messages ORDER BY id").fetchall()
    by = {(m["turn"], m["source"], m["model"]): m for m in messages if m["role"] == "assistant"}
    main, cross, retry = by[1, "main", "smol"], by[1, "background", "qwen"], by[1, "retry", "qwen"]
    # what the screen showed is what was stored
    assert _squash(main_shown) == _squash(main["content"]) and _squash(others_shown) == _squash(cross["content"])
    assert _squash(retry_shown) == _squash(retry["content"])
    assert _squash(history) == _squash(f"1. あなた: Say hello.1. qwen: {retry['content']}")
    # the retry adopted, smol's answer displaced (logically); turn 2 rewound; the cleared line never sent
    assert (retry["adopted"], retry["deleted"]) == (1, 0)
    assert (main["adopted"], main["deleted"], main["deleted_reason"]) == (0, 1, "retry")
    assert [(m["role"], m["source"], m["model"], m["deleted_reason"]) for m in messages if m["turn"] == 2] == [
        ("user", "main", None, "rewind"), ("assistant", "main", "smol", "rewind"),
        ("assistant", "background", "qwen", "rewind"),  # the rewound turn 2, then the new one after /settings apply:
        ("user", "main", None, None), ("assistant", "main", "qwen", None), ("assistant", "background", "smol", None),
    ]  # fmt: skip
    assert [m["content"] for m in messages if m["role"] == "user"] == ["Say hello.", "Name a colour.", "Say hi."]
    events = {e["message_id"]: e for e in con.execute("SELECT * FROM usage_events")}
    assert events[main["id"]]["completion_tokens"] == int(main_stats[1])
    # /rate went to the answer in force for question 1: the adopted retry
    rated = events[retry["id"]]
    levels = (rated["accuracy"], rated["naturalness"], rated["usefulness"])
    assert (levels, rated["comment"]) == ((5, 4, 4), "とても役立った")
    assert (rated["kind"], rated["adopted"], events[main["id"]]["adopted"]) == ("retry", 1, 0)
    assert [e["message_id"] for e in events.values() if e["accuracy"] is not None] == [retry["id"]]
    assert con.execute("SELECT value FROM meta WHERE key = 'settings_shown'").fetchone()[0] == "2026-Q2"
    con.close()
    assert (chat_dir / "settings.toml").read_text(encoding="utf-8") == SETTINGS  # applying never wrote over it
