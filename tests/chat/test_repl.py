"""`llamune chat` driven by scripted input against the embedded engine with two models (so background answers
really arrive), then the SQLite contents checked."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

SETTINGS = """basedOn = "2026-Q1"
concurrentLimit = 1
executionOrder = ["smol", "qwen"]
[[models]]
name = "smol"
priority = 1
purpose = "メイン推論"
[models.parameters]
temperature = 0.0
top_p = 1.0
max_tokens = 24
[[models]]
name = "qwen"
priority = 2
purpose = "クロスチェック"
[models.parameters]
temperature = 0.0
top_p = 1.0
max_tokens = 24
"""


@pytest.fixture
def chat_dir(tmp_path: Path, smollm2_path: Path) -> Path:
    from llamune_eval.engines import bundled

    if not bundled.available(bundled.QWEN_CODER):
        pytest.skip(f"second model not installed: {bundled.QWEN_CODER.pip}")
    qwen = bundled.model_file(bundled.QWEN_CODER)
    (tmp_path / "llamune.toml").write_text(
        f'[[engines]]\nkind = "embedded"\nparallel = 1\nctx_per_slot = 2048\n'
        f'models = [{{ name = "smol", path = "{smollm2_path}" }}, {{ name = "qwen", path = "{qwen}" }}]\n'
    )
    (tmp_path / "settings.toml").write_text(SETTINGS, encoding="utf-8")
    return tmp_path


def _chat(cwd: Path, script: list[str], *extra: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LLAMUNE_SETTINGS": str(cwd / "settings.toml"), "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "llamune_eval.chat.cli", "chat", "--db", "chat.sqlite", *extra],
                          input="\n".join(script) + "\n", cwd=cwd, capture_output=True, text=True, timeout=300,
                          env=env)  # fmt: skip


def test_scripted_session(chat_dir: Path) -> None:
    script = [
        "Say hello.", "/category extraction", "/category auto", "/good 丁寧", "Name a fruit.", "/retry", "7", "maybe",
        "yes", "/rewind 1", "いいえ", "/rewind 1", "はい", "Write a Python function that adds 1 and 2.", "/category",
        "/history", "/others", "/title 会議メモ", "/title",
        "/settings", "/bogus", "/rewind 9", "/quit",
    ]  # fmt: skip
    proc = _chat(chat_dir, script)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "外部通信 0 B" in out
    assert "他のLLMからも回答が届きました" in out
    assert "不明なコマンド /bogus" in out and "N は 1〜2 の質問番号です" in out
    assert "種別を extraction にしました" in out and "直前の質問の種別: coding（自動判定）" in out
    assert "custom 2026-Q1" in out
    # the specification's menus and yes/no answers (yes / y / はい, no / n / いいえ; anything else is asked again)
    assert " 1. smol (settings) ⭐" in out and "🔄 qwen (settings) で再実行..." in out
    assert "yes, y - 採用（新しい回答を保存）" in out and "yes / y / はい か no / n / いいえ で答えてください" in out
    assert "✅ qwen の回答を採用しました" in out
    assert "no, n  - キャンセル" in out and "キャンセルしました" in out and "✅ 会話 #1 まで巻き戻しました" in out
    con = sqlite3.connect(chat_dir / "chat.sqlite")
    con.row_factory = sqlite3.Row
    [session] = con.execute("SELECT * FROM sessions").fetchall()
    assert session["title"] == "会議メモ" and "タイトル: 会議メモ" in out  # /title wins over the generated one
    messages = con.execute("SELECT * FROM messages ORDER BY id").fetchall()
    after_rewind = next(m["id"] for m in messages if m["content"].startswith("Write a Python"))
    main_turn2 = [m for m in messages if m["turn"] == 2 and m["id"] < after_rewind]
    assert main_turn2 and all(m["deleted"] and m["deleted_reason"] in ("rewind", "retry") for m in main_turn2)
    visible = [m for m in messages if not m["deleted"] and m["source"] in ("main", "retry")]
    assert [(m["turn"], m["role"]) for m in visible] == [(1, "user"), (1, "assistant"), (2, "user"), (2, "assistant")]
    events = con.execute("SELECT * FROM usage_events ORDER BY id").fetchall()
    kinds = [e["kind"] for e in events]
    assert kinds.count("main") == 3 and kinds.count("background") == 3 and kinds.count("retry") == 1
    # each turn's events carry its category: /category relabelled turn 1, the rule read the others
    assert [e["category"] for e in events if e["kind"] == "main"] == ["extraction", "general", "coding"]
    assert sorted(e["category"] for e in events if e["kind"] == "background") == ["coding", "extraction", "general"]
    assert [e["category"] for e in events if e["kind"] == "retry"] == ["general"]
    assert {e["model"] for e in events if e["kind"] == "background"} == {"qwen"}
    rated = [e for e in events if e["rating"] is not None]
    assert len(rated) == 1 and (rated[0]["rating"], rated[0]["comment"]) == (1, "丁寧")
    retried = [e for e in events if e["message_id"] in {m["id"] for m in main_turn2}]
    assert sorted(e["adopted"] for e in retried if e["adopted"] is not None) == [0, 1]
    assert all(e["success"] and e["latency_s"] > 0 for e in events if e["kind"] in ("main", "background"))


def test_sessions_resume_and_delete(chat_dir: Path) -> None:
    assert _chat(chat_dir, ["Say hi.", "/quit"]).returncode == 0
    env = {**os.environ, "COLUMNS": "200"}
    cli = [sys.executable, "-m", "llamune_eval.chat.cli", "sessions", "--db", "chat.sqlite"]
    listed = subprocess.run([*cli, "--json"], cwd=chat_dir, capture_output=True, text=True, env=env, timeout=60)
    import json

    [row] = json.loads(listed.stdout)
    resumed = _chat(chat_dir, ["/history", "/quit"], "--session", row["id"])
    assert "Say hi." in resumed.stdout
    subprocess.run([*cli, "--delete", row["id"]], cwd=chat_dir, check=True, env=env, timeout=60)
    assert json.loads(subprocess.run([*cli, "--json"], cwd=chat_dir, capture_output=True, text=True, env=env,
                                     timeout=60).stdout) == []  # fmt: skip
    missing = _chat(chat_dir, ["/quit"], "--session", "nope")
    assert missing.returncode == 1 and "no session 'nope'" in missing.stderr


def test_newer_recommendation_keep_apply_and_permanent_system(chat_dir: Path) -> None:
    import json

    from llamune_eval.settings import digest_of

    params = {"temperature": 0.0, "top_p": 1.0, "max_tokens": 16}
    models = [{"name": "qwen", "priority": 1, "purpose": "メイン推論", "parameters": params},
              {"name": "smol", "priority": 2, "purpose": "クロスチェック", "parameters": params}]  # fmt: skip
    data = {"version": "2026-Q2", "quarter": "2026 Q2", "models": models, "executionOrder": ["qwen", "smol"],
            "concurrentLimit": 1, "updatedAt": "2026-06-30T00:00:00Z", "changelog": "qwen を追加",
            "update": {"newVersion": "2026-Q2", "oldVersion": "2026-Q1", "newModels": ["qwen"],
                       "deprecatedModels": [], "changes": ["実行順序を最適化"],
                       "performanceImprovements": "推論速度 15%向上"}}  # fmt: skip
    data["digest"] = digest_of(data)
    (chat_dir / "recommended").mkdir()
    (chat_dir / "recommended" / "2026-Q2.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    told = _chat(chat_dir, ["1", "3", "/settings", "/settings apply", "/settings", "/system --permanent 丁寧に答えて",
                            "/quit"])  # fmt: skip
    # the QuarterlyUpdate card on the first start after the new file: 詳細, then このまま
    card = told.stdout.split("番号を選んでください")[0]
    for line in ("🎉 新しい推奨設定 (2026 Q2)", "✨ qwen を追加", "🔧 実行順序を最適化", "⚡ 推論速度 15%向上",
                 "カスタム設定を使用中のため、自動では適用されません。", "[詳細] [今すぐ適用] [このまま]"):  # fmt: skip
        assert line in card, line
    assert "2026-Q1 → 2026-Q2: 測定された変更の詳細はありません" in told.stdout
    assert "このまま今の設定を使います" in told.stdout
    assert told.returncode == 0, told.stderr
    assert "新しい推奨設定 2026-Q2 があります" in told.stdout and "追加 qwen" in told.stdout
    assert "推奨設定 2026-Q2 に切り替えました" in told.stdout and "実行順: qwen, smol" in told.stdout
    assert (chat_dir / "system.txt").read_text(encoding="utf-8") == "丁寧に答えて"
    applied = _chat(chat_dir, ["/settings", "/quit"])  # the choice lasts: the next session is on the recommendation
    assert "設定: recommended 2026-Q2" in applied.stdout and "/settings apply で選択" in applied.stdout
    assert "🎉" not in applied.stdout  # the card of the file the user chose is not shown again
    settings = chat_dir / "settings.toml"
    settings.write_text(settings.read_text(encoding="utf-8"), encoding="utf-8")  # they edit their own file: it wins
    kept = _chat(chat_dir, ["/settings keep", "/quit"])
    assert "今の設定を使い続けます" in kept.stdout
    assert (chat_dir / "settings.toml").read_text(encoding="utf-8").startswith('basedOn = "2026-Q2"')
    quiet = _chat(chat_dir, ["/quit"])
    assert "新しい推奨設定" not in quiet.stdout


def test_bad_commands_never_end_the_session(chat_dir: Path) -> None:
    """Markup in a message, an unknown critic for /eval: each a message, and the session goes on."""
    script = ["Repeat [/INST] and [red]x please.", "/history", "/eval no-such-model:7b", "/history", "/quit"]
    proc = _chat(chat_dir, script)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stdout.count("[/INST] and [red]x") >= 2  # shown as text, both times
    assert "評価できませんでした" in proc.stdout and "no-such-model:7b" in proc.stdout


async def test_saving_an_artifact_never_overwrites_unasked_and_never_ends_the_session(tmp_path: Path) -> None:
    from llamune_eval.chat.repl import Repl

    answers = iter(["n", "y"])
    repl = Repl.__new__(Repl)

    async def ask_line(prompt: str) -> str | None:
        return next(answers)

    repl.ask_line = ask_line  # type: ignore[method-assign]
    target = tmp_path / "x.py"
    target.write_text("old")
    await repl._save(target, "new")  # answered no
    assert target.read_text() == "old"
    await repl._save(target, "new")  # answered yes
    assert target.read_text() == "new"
    await repl._save(tmp_path / "no-such-dir" / "x.py", "code")  # a message, not an exception
    assert not (tmp_path / "no-such-dir").exists()


def test_a_permanent_system_prompt_that_is_not_utf8_is_one_line_and_left_alone(chat_dir: Path) -> None:
    path = chat_dir / "system.txt"
    path.write_bytes(b"\xff\xfe\xfd")
    proc = _chat(chat_dir, ["Say hi.", "/quit"])
    err = proc.stderr.strip()
    assert proc.returncode == 1 and err.startswith("error:") and len(err.splitlines()) == 1, err
    assert "system.txt: not UTF-8" in err and "Traceback" not in err
    assert path.read_bytes() == b"\xff\xfe\xfd"
