"""`llamune usage export` and the `[chat]` sharing settings as a user meets them: values, one-line errors, the
database left as it was, and nothing heavy imported."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

from llamune_eval import jsonio
from tests.channel.test_drop import CANARIES, SALT, _db

HEAVY = ("pandas", "duckdb", "scipy", "datasets", "xllamacpp", "numpy")


def _llamune(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LLAMUNE_")}
    return subprocess.run([sys.executable, "-m", "llamune_eval.chat.cli", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=60, env={**env, "COLUMNS": "200"})  # fmt: skip


def test_export_writes_content_free_lines_and_leaves_the_database(tmp_path: Path) -> None:
    _db(tmp_path / "chat.sqlite").close()
    before = hashlib.sha256((tmp_path / "chat.sqlite").read_bytes()).hexdigest()
    (tmp_path / "llamune.toml").write_text(f'[chat]\norg_salt = "{SALT}"\nmemory_gb = 64\n')
    out = _llamune("usage", "export", "--db", "chat.sqlite", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    rows = [jsonio.loads(line) for line in out.stdout.splitlines()]
    assert [(r["kind"], r["tier"], r["model"]) for r in rows] == [("main", 64, "qwen"), ("background", 64, "smol")]
    assert not [c for c in CANARIES.values() if c in out.stdout]
    written = _llamune("usage", "export", "--db", "chat.sqlite", "-o", "usage.jsonl", "--since", "2000-01-01",
                       cwd=tmp_path)  # fmt: skip
    assert written.returncode == 0 and "2 usage events written to usage.jsonl" in written.stderr
    assert (tmp_path / "usage.jsonl").read_text() == out.stdout
    later = _llamune("usage", "export", "--db", "chat.sqlite", "--since", "2999-01-01", cwd=tmp_path)
    assert later.returncode == 0 and later.stdout == ""
    refused = {
        ("-o", "usage.jsonl"): "error: usage.jsonl: already exists; --force overwrites it",
        ("--since", "2026/01/01"): "error: --since '2026/01/01': give a date as YYYY-MM-DD",
    }
    for extra, line in refused.items():
        proc = _llamune("usage", "export", "--db", "chat.sqlite", *extra, cwd=tmp_path)
        assert proc.returncode == 1 and proc.stderr.strip().splitlines() == [line]
    assert hashlib.sha256((tmp_path / "chat.sqlite").read_bytes()).hexdigest() == before


def test_sharing_settings_are_checked_in_one_line(tmp_path: Path) -> None:
    _db(tmp_path / "chat.sqlite").close()
    cases = {
        "[chat]\nmemory_gb = 16\n": "[chat] org_salt is not set",
        '[chat]\nchannel = "https://llamune.intra/recommended/"\n': "a channel over http(s) needs public_key",
        '[chat]\nusage_drop = "/srv/drop"\n': "usage_drop needs org_salt",
        '[chat]\norg_salt = "s"\nmemory_gb = -1\n': "chat.memory_gb: Input should be greater than 0",
        '[chat]\norg_salt = "s"\nusage_drop = "http://drop:abc/"\n': "usage_drop 'http://drop:abc/' is not a usable",
        '[publish]\nto = "https:///x"\n': "to 'https:///x' has no host",
    }
    for toml, needle in cases.items():
        (tmp_path / "llamune.toml").write_text(toml)
        proc = _llamune("usage", "export", "--db", "chat.sqlite", cwd=tmp_path)
        lines = proc.stderr.strip().splitlines()
        assert proc.returncode in (1, 2) and len(lines) == 1 and lines[0].startswith("error:") and needle in lines[0]


def test_export_and_a_followed_channel_import_nothing_heavy(tmp_path: Path) -> None:
    _db(tmp_path / "chat.sqlite").close()
    (tmp_path / "llamune.toml").write_text(f'[chat]\norg_salt = "{SALT}"\n')
    code = (
        "import sys\nfrom llamune_eval.chat.cli import main\n"
        "main(['usage', 'export', '--db', 'chat.sqlite'])\n"
        "import llamune_eval.chat.share, llamune_eval.channel.follow, llamune_eval.channel.drop\n"
        f"print('HEAVY', sorted(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert out.stdout.strip().splitlines()[-1] == "HEAVY []", out.stderr


def test_export_reads_a_database_of_the_previous_version(tmp_path: Path) -> None:
    """A database `llamune` 0.1 wrote (no usage_sent table, no revisions) exports without being changed."""
    import sqlite3

    _db(tmp_path / "chat.sqlite").close()
    con = sqlite3.connect(tmp_path / "chat.sqlite")
    con.executescript(
        "DROP TRIGGER usage_revised; DROP TABLE usage_sent; ALTER TABLE usage_events DROP COLUMN revision; "
        "UPDATE meta SET value = '2' WHERE key = 'schema_version';"
    )
    con.close()
    before = hashlib.sha256((tmp_path / "chat.sqlite").read_bytes()).hexdigest()
    (tmp_path / "llamune.toml").write_text(f'[chat]\norg_salt = "{SALT}"\n')
    out = _llamune("usage", "export", "--db", "chat.sqlite", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert [jsonio.loads(line)["kind"] for line in out.stdout.splitlines()] == ["main", "background"]
    assert hashlib.sha256((tmp_path / "chat.sqlite").read_bytes()).hexdigest() == before
