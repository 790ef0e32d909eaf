"""The command line as an operator uses it: instant help, real engine smoke, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("pandas", "duckdb", "scipy", "datasets", "xllamacpp", "numpy")


def _cli(*args: str, cwd: Path, env: dict[str, str] | None = None, module: str = "llamune_eval.cli.main"):
    full_env = {**os.environ, "COLUMNS": "200", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", module, *args], capture_output=True, text=True, timeout=300, cwd=cwd, env=full_env
    )


@pytest.mark.parametrize("module", ["llamune_eval.cli.main", "llamune_eval.chat.cli"])
def test_help_imports_nothing_heavy(module: str) -> None:
    code = (
        "import sys\n"
        f"from {module} import {'run as app' if 'chat' in module else 'app'}\n"
        "try:\n app(['--help'])\nexcept SystemExit:\n pass\n"
        f"print('HEAVY', sorted(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60).stdout
    assert "Usage" in out
    assert out.strip().splitlines()[-1] == "HEAVY []"


COMMANDS = [["models"], ["ask"], ["engine"], ["engine", "serve"], ["suites"], ["run"], ["results"], ["judge"],
            ["rate"], ["measure"], ["recommend"], ["publish"], ["report"], ["compare"], ["usage"], ["usage", "ingest"],
            ["export"], ["data"], ["data", "list"], ["data", "pull"], ["data", "pack"], ["data", "import"],
            ["data", "verify"]]  # fmt: skip


def test_every_command_has_help(tmp_path: Path) -> None:
    """Every command and subcommand the README lists (and nothing it does not) answers --help."""
    from llamune_eval.cli.main import app

    for args in COMMANDS:
        proc = _cli(*args, "--help", cwd=tmp_path)
        assert proc.returncode == 0 and "Usage" in proc.stdout, args
    import typer.main

    group = typer.main.get_command(app)
    listed = set(group.commands)  # type: ignore[attr-defined]
    assert listed == {c[0] for c in COMMANDS}


@pytest.fixture
def smol_config(tmp_path: Path, smollm2_path: Path) -> Path:
    (tmp_path / "llamune.toml").write_text(
        f'[[engines]]\nkind = "embedded"\nparallel = 1\nctx_per_slot = 1024\n'
        f'models = [{{ name = "smol", path = "{smollm2_path}" }}]\n'
    )
    return tmp_path


def test_models_json_on_the_embedded_engine(smol_config: Path) -> None:
    proc = _cli("models", "--json", cwd=smol_config)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    [row] = data["models"]
    assert (row["name"], row["engine"], row["quantization"], row["loaded"]) == ("smol", "embedded", "Q4_1", False)
    table = _cli("models", cwd=smol_config)
    assert "smol" in table.stdout and "Q4_1" in table.stdout and "93.8 MB" in table.stdout


def test_ask_streams_an_answer_with_timings(smol_config: Path) -> None:
    proc = _cli("ask", "What colour is the sky?", "--temperature", "0", "--max-tokens", "16", cwd=smol_config)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip()
    assert "tok/s" in proc.stderr and "TTFT" in proc.stderr and "smol" in proc.stderr
    as_json = _cli("ask", "Hi", "--max-tokens", "3", "--json", cwd=smol_config)
    assert json.loads(as_json.stdout)["completion_tokens"] == 3


@pytest.mark.parametrize(
    ("toml", "code", "needle"),
    [
        ('[[engines]]\nkind = "olama"\n', 2, "engines.0.kind"),
        ('[[engines]]\nkind = "openai"\nurl = "http://127.0.0.1:9"\n[retry]\nattempts = 1\n', 1, "connect"),
    ],
)
def test_errors_are_one_line_without_traceback(tmp_path: Path, toml: str, code: int, needle: str) -> None:
    (tmp_path / "llamune.toml").write_text(toml)
    proc = _cli("ask", "hi", "-m", "x", cwd=tmp_path)
    assert proc.returncode == code
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and needle in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr


def test_llamune_lists_models(smol_config: Path) -> None:
    proc = _cli("models", "--json", cwd=smol_config, module="llamune_eval.chat.cli")
    assert proc.returncode == 0 and json.loads(proc.stdout)["models"][0]["name"] == "smol"


def test_models_warns_about_an_unreachable_engine(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        (tmp_path / "llamune.toml").write_text(f'[[engines]]\nkind = "ollama"\nurl = "http://127.0.0.1:{port}"\n')
        proc = _cli("models", "--json", cwd=tmp_path)
    assert proc.returncode == 0
    data = json.loads(proc.stdout)
    assert data["models"] == [] and "connect" in data["problems"][0]
