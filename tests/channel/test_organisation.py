"""Across an organisation, end to end with real processes: the operator's quarter on the embedded engine publishes
2027-Q1, signed, to nginx; three users (16, 32 and 64 GB by configuration, each with a home of their own; two on
pipes, one at a terminal in tmux) install it from the channel, see the card once, are answered by their tier's main
model, chat with a canary in everything they type, rate, and upload their usage by PUT at exit; the operator's
next quarter ingests the drops. Not one canary, nor any answer or artifact text, reaches nginx, the store, the
report or the settings; with share_comments the comments, and only they, do."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from llamune_eval import jsonio
from llamune_eval.channel.events import machine_id, pseudonym
from llamune_eval.store import connect
from llamune_eval.store.schema import TABLES
from tests.channel import _files
from tests.channel._nginx import Nginx
from tests.channel._relay import Relay
from tests.channel._sessions import PipeChat, TmuxChat

ROOT = Path(__file__).resolve().parents[2]
SALT = "kanaria-org-salt"
USERS = {"aoki": (16, PipeChat), "baba": (32, PipeChat), "chiba": (64, TmuxChat)}
SHARES_COMMENTS = "chiba"


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "llamune_eval.cli.main", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=600, env=env)  # fmt: skip


def _canaries(user: str) -> dict[str, str]:
    return {kind: f"kanaria_{kind}_{user}" for kind in ("q1", "q2", "system", "title", "comment")}


def _operator(op: Path, engines: str, key: Path, ng: Nginx) -> None:
    op.mkdir()
    (op / "llamune.toml").write_text(
        f"{engines}\n"
        f'[run]\nsuites_dir = "{ROOT / "suites"}"\nsuites = ["extraction"]\npresets = ["e2e"]\nlimit = 3\n'
        '[presets.e2e]\nbase = "fast"\nmax_tokens = 40\n'
        # 2% of a tier: 16 GB holds SmolLM2 alone, 32 and 64 GB hold Qwen too
        f'[recommend]\nmin_items = 3\nheadroom = 0.02\nsigning_key = "{key}"\n'
        f'[publish]\nto = "{ng.url("/recommended/")}"\n'
        f'[usage]\ndatabases = ["{ng.root / "usage"}/*.jsonl"]\n'
    )


def _user(home: Path, engines: str, gb: int, public: Path, relay: Relay, shares: bool) -> dict[str, str]:
    """The user's home, configuration and environment: nothing shared with the operator or another user."""
    home.mkdir(parents=True)
    (home / "llamune.toml").write_text(
        f"{engines}\n[chat]\ntitles = false\n"
        f'channel = "{relay.url("/recommended/")}"\npublic_key = "{public}"\nmemory_gb = {gb}\n'
        f'usage_drop = "{relay.url("/usage/")}"\norg_salt = "{SALT}"\nshare_comments = {str(shares).lower()}\n'
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LLAMUNE_", "XDG_"))}
    name = home.name
    return {**env, "HOME": str(home), "USER": name, "LOGNAME": name, "TERM": "xterm-256color",
            "XDG_DATA_HOME": str(home / ".local" / "share"), "XDG_CONFIG_HOME": str(home / ".config")}  # fmt: skip


def _session_two(chat: Any, c: dict[str, str], main: str) -> str:
    """The card, two questions (each asking for code, so answers and artifacts hold text of the model's own),
    /rate with a comment, /title, /settings, /quit; returns what the screen showed."""
    chat.wait_for("🎉 新しい推奨設定 (2027 Q1)")
    chat.wait_for("/help でコマンド一覧")
    chat.send(f"/system 回答の最後に {c['system']} と書いてください")
    chat.wait_for("このセッションのシステムプロンプトを設定しました")
    chat.send(f"Write a Python function named {c['q1']} that returns 1.")
    chat.wait_for(" tokens · TTFT ")
    chat.send(f"/rate 5 4 4 {c['comment']}")
    chat.wait_for("評価を記録しました（回答の正確性 5")
    chat.send(f"/title {c['title']}")
    chat.wait_for("タイトルを「")
    chat.send(f"Write a Python function named {c['q2']} that returns 2.")
    chat.wait_for(" tokens · TTFT ", count=2)
    chat.send("/settings")
    chat.wait_for("前回の確認")
    chat.send("/quit")
    out = chat.wait_for("通信量: エンジン ")  # the last line the chat prints, after the usage was sent at exit
    assert "利用状況を送信しました（" in out
    stats = [line.strip() for line in out.splitlines() if " tokens · TTFT " in line]
    assert len(stats) == 2 and all(line.startswith(f"{main} · ") for line in stats), stats
    return str(out)


def _db_rows(path: Path, sql: str) -> list[sqlite3.Row]:
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    con.row_factory = sqlite3.Row
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _store_text(path: Path) -> str:
    """Every value of every table of the store, as text: what a canary would have to hide in."""
    con = connect(path, read_only=True)
    try:
        return "\n".join(str(con.execute(f"SELECT * FROM {t.name}").fetchall()) for t in TABLES)
    finally:
        con.close()


def test_the_quarter_reaches_every_user_and_their_usage_comes_back_without_content(
    tmp_path: Path, smollm2_path: Path
) -> None:
    from llamune_eval.engines import bundled

    if not bundled.available(bundled.QWEN_CODER):
        pytest.skip(f"second model not installed: {bundled.QWEN_CODER.pip}")
    qwen = bundled.model_file(bundled.QWEN_CODER)
    models = f'{{ name = "smol", path = "{smollm2_path}" }}, {{ name = "qwen", path = "{qwen}" }}'
    engines = f'[[engines]]\nkind = "embedded"\nparallel = 2\nctx_per_slot = 2048\nthreads = 2\nmodels = [{models}]'
    key, public = _files.keypair(tmp_path / "keys")
    op = tmp_path / "operator"
    with Nginx(tmp_path / "www") as ng, Relay(("127.0.0.1", ng.port)) as relay:
        _operator(op, engines, key, ng)
        first = _cli("run", "--quarter", "2027-Q1", "--no-progress", "--json", cwd=op)
        assert first.returncode == 0, first.stderr
        stages = {s["name"]: s for s in jsonio.loads(first.stdout)["stages"]}
        assert stages["recommend"]["status"] == "done" and "(published)" in stages["recommend"]["detail"]
        assert stages["publish"]["status"] == "done", stages["publish"]
        assert stages["publish"]["detail"] == f"2027-Q1 published to {ng.url('/recommended/')}"
        published = (op / "recommended" / "2027-Q1.json").read_bytes()
        assert (ng.root / "recommended" / "2027-Q1.json").read_bytes() == published
        settings = jsonio.loads(published)
        assert isinstance(settings["signature"], str)
        mains = {t["memoryGB"]: t["executionOrder"][0] for t in settings["tiers"]}
        assert mains[16] == "smol"  # Qwen does not fit 2% of 16 GB

        homes: dict[str, Path] = {}
        for name, (gb, kind) in USERS.items():
            c = _canaries(name)
            home = homes[name] = tmp_path / "homes" / name
            env = _user(home, engines, gb, public, relay, name == SHARES_COMMENTS)
            # the first session: the prompt at once, the file arrives in the background and is announced
            one = kind(home, env)
            one.wait_for("/help でコマンド一覧")
            out = one.wait_for("新しい推奨設定が届きました（2027-Q1）: /settings で詳細")
            assert "外部通信 0 B (遮断 0 件)" in out and "🎉" not in out
            one.send("/quit")
            assert one.close() == 0
            installed = home / ".local" / "share" / "llamune" / "recommended" / "2027-Q1.json"
            assert installed.read_bytes() == published
            # the second: the card, answered by the tier's main model, usage sent at exit
            two = kind(home, env)
            shown = _session_two(two, c, mains[gb])
            assert f"recommended 2027-Q1 — recommended 2027-Q1, tier {gb} GB" in shown
            assert f"配信元: {relay.url('/recommended/')} · 最終接続: " in shown and ": 成功" in shown
            assert "通信量: エンジン " in shown and " · 外部 0 B" in shown  # the egress guard refused nothing
            assert two.close() == 0
            if name == "aoki":  # a third start: the card is not shown again
                three = PipeChat(home, env)
                three.wait_for("/help でコマンド一覧")
                three.send("/quit")
                assert three.close() == 0 and "🎉" not in three.output

        second = _cli("run", "--quarter", "2027-Q2", "--no-progress", "--json", cwd=op)
        assert second.returncode == 0, second.stderr
        stages = {s["name"]: s for s in jsonio.loads(second.stdout)["stages"]}
        drops = sorted((ng.root / "usage").glob("*.jsonl"))
        received = relay.received()

    # each user's own database holds what they said; the store holds exactly their events, under three pseudonyms
    events: dict[str, set[str]] = {}
    for name, home in homes.items():
        db = home / ".local" / "share" / "llamune" / "chat.sqlite"
        rows = _db_rows(db, "SELECT * FROM usage_events")
        events[name] = {r["event_id"] for r in rows}
        gb = USERS[name][0]
        assert {r["model"] for r in rows if r["kind"] == "main"} == {mains[gb]}
        assert {r["event_id"] for r in _db_rows(db, "SELECT event_id FROM usage_sent")} == events[name]
        tables = ("messages", "sessions", "usage_events")
        said = " ".join(str(tuple(r)) for t in tables for r in _db_rows(db, f"SELECT * FROM {t}"))
        assert all(v in said for v in _canaries(name).values())  # the canaries were really used
        assert _db_rows(db, "SELECT count(*) FROM artifacts")[0][0] >= 1
    names = {pseudonym(SALT, name, machine_id()) for name in homes}  # each user's one upload, under their pseudonym
    assert len(drops) == 3 and {p.name.split("-", 1)[0] for p in drops} == names
    assert stages["usage"]["status"] == "done" and stages["usage"]["detail"].startswith(
        f"{sum(map(len, events.values()))} new events from 3 file(s)"
    )
    store = op / "llamune.duckdb"
    con = connect(store, read_only=True)
    try:
        stored = {r[0]: r[1:] for r in con.execute("SELECT event_id, user, tier FROM usage_events").fetchall()}
    finally:
        con.close()
    assert set(stored) == set().union(*events.values())
    tiers = {name: {stored[e][1] for e in ids} for name, ids in events.items()}
    assert tiers == {n: {gb} for n, (gb, _) in USERS.items()}
    assert len({stored[e][0] for e in stored}) == 3

    report = jsonio.loads((op / "reports" / "2027-Q2" / "report.json").read_bytes())
    users = report["usage"]["users"]
    assert (users["active"], users["conversations"], users["perTier"]) == (3, 6, {"16": 1, "32": 1, "64": 1})
    assert users["satisfaction"] == pytest.approx(13 / 3)
    kpis = {k["name"]: (k["value"], k["target"], k["met"]) for k in report["usage"]["kpis"]}
    assert kpis == {"activeUsers": (3, 10, False), "conversations": (6, 500, False),
                    "satisfaction": (pytest.approx(13 / 3), 4.0, True)}  # fmt: skip
    html = (op / "reports" / "2027-Q2" / "index.html").read_text()
    kpi_rows = html.split('<table id="kpis">', 1)[1].split("</table>", 1)[0]
    for label, value, target, met in (("アクティブユーザー", "3", "10", "未達"), ("会話数", "6", "500", "未達"),
                                      ("ユーザー満足度", "4.33", "4.0", "達成")):  # fmt: skip
        row = f'<td>{label}</td><td class="num">{value}</td><td class="num">{target}</td><td>{met}</td>'
        assert row in kpi_rows, kpi_rows
    assert "利用者 3 名（メモリ区分ごと：16 GB 1 名、32 GB 1 名、64 GB 1 名）" in html
    q2 = jsonio.loads((op / "recommended" / "2027-Q2.json").read_bytes())
    used = q2["evidence"]["usage"]
    assert used["events"] == len(stored)
    per_model: dict[str, int] = {}
    for home in homes.values():
        for r in _db_rows(home / ".local" / "share" / "llamune" / "chat.sqlite", "SELECT model FROM usage_events"):
            per_model[r["model"]] = per_model.get(r["model"], 0) + 1
    assert {m: u["answers"] for m, u in used["models"].items()} == per_model  # the decision's signals read them

    # nothing anyone said left their machine
    store_text = _store_text(store)
    report_text = "".join(p.read_text() for p in (op / "reports").rglob("*") if p.is_file())
    settings_text = "".join(p.read_text() for p in (op / "recommended").glob("*.json"))
    served_text = "".join(p.read_text() for p in (ng.root / "recommended").glob("*.json"))
    places = {"nginx": received.decode(errors="replace"), "store": store_text, "report": report_text,
              "settings": settings_text + served_text}  # fmt: skip
    for name, home in homes.items():
        db = home / ".local" / "share" / "llamune" / "chat.sqlite"
        texts = [r[0] for r in _db_rows(db, "SELECT content FROM messages WHERE role = 'assistant'")]
        texts += [r[0] for r in _db_rows(db, "SELECT content FROM artifacts")]
        pieces = [t.strip()[:40] for t in texts if len(t.strip()) >= 24]  # the model's own words and code
        assert pieces, name  # the artifact at least: the check below has something to look for
        for kind, canary in _canaries(name).items():
            for place, text in places.items():
                shared = kind == "comment" and name == SHARES_COMMENTS and place in ("nginx", "store", "report")
                assert (canary in text) == shared, (name, kind, place)
        for piece in pieces:
            assert not [place for place, text in places.items() if piece in text], (name, piece)
