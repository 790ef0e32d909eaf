"""The egress guard refuses every destination but loopback and configured engines, before a byte is sent."""

from __future__ import annotations

import socket
import subprocess
import sys
import urllib.request

import httpx
import pytest

from llamune_eval import egress
from llamune_eval.engines import OpenAIBackend
from llamune_eval.types import EngineError, ErrorKind
from tests.stubs.faults import FaultServer


def test_decision_table() -> None:
    st = egress.EgressState()
    assert egress.is_allowed("127.0.0.1", 80, st) and egress.is_allowed("localhost", None, st)
    assert egress.is_allowed("::1", 1, st) and egress.is_allowed("127.8.9.10", 1, st)
    assert not egress.is_allowed("203.0.113.5", 443, st)  # TEST-NET-3: decided without a socket
    assert not egress.is_allowed("huggingface.co", 443, st)
    assert not egress.is_allowed("192.168.1.10", 11434, st)
    st.hosts.add("gpu-box.internal")
    assert egress.is_allowed("GPU-BOX.internal.", 11434, st)


def test_name_lookup_of_an_outside_host_is_refused() -> None:
    with pytest.raises(egress.EgressBlocked):
        socket.getaddrinfo("example.invalid", 443)
    assert any("example.invalid" in r for r in egress.state().refused)


def test_connect_outside_the_allowlist_is_refused_before_sending() -> None:
    """Loopback turned off for the test: 127.0.0.2 stands in for a foreign host, so nothing ever leaves."""
    with FaultServer() as srv, egress.configured(allow_loopback=False, hosts=["127.0.0.1"]):
        s = socket.socket()
        with pytest.raises(egress.EgressBlocked):
            s.connect(("127.0.0.2", srv.server.port))
        s.close()
        assert httpx.get(f"{srv.url}/v1/models").status_code == 200  # the configured engine still answers
        before = srv.server.count("/v1/models")
        with pytest.raises(Exception) as info:
            urllib.request.urlopen(f"http://127.0.0.2:{srv.server.port}/v1/models", timeout=2)
        assert isinstance(info.value, egress.EgressBlocked) or isinstance(
            getattr(info.value, "reason", None), egress.EgressBlocked
        )
        assert srv.server.count("/v1/models") == before  # the server saw nothing


async def test_engine_client_reports_egress_kind() -> None:
    with egress.configured(allow_loopback=False, hosts=["127.0.0.1"]):
        with pytest.raises(EngineError) as info:
            OpenAIBackend("http://127.0.0.3:8000")
        assert info.value.kind is ErrorKind.EGRESS
    with egress.configured(allow_loopback=False, hosts=["127.0.0.1"], ports={"127.0.0.1": {1}}):
        backend = OpenAIBackend("http://127.0.0.1:1", flavor="openai")
        assert not egress.is_allowed("127.0.0.1", 2)
        await backend.aclose()


def test_hub_and_telemetry_are_off_in_a_fresh_process() -> None:
    code = (
        "import os; from llamune_eval import egress; egress.install(); egress.offline_env(); e = os.environ;"
        "print(e['HF_HUB_OFFLINE'], e['HF_DATASETS_OFFLINE'], e['HF_HUB_DISABLE_TELEMETRY']);"
        "import socket\n"
        "try:\n socket.create_connection(('huggingface.co', 443), timeout=2)\n"
        "except PermissionError as e: print('refused')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60).stdout.split()
    assert out == ["1", "1", "1", "refused"]


def test_datasets_cannot_reach_the_hub() -> None:
    pytest.importorskip("datasets")
    code = (
        "from llamune_eval import egress; egress.install(); egress.offline_env()\n"
        "import datasets\n"
        "try:\n datasets.load_dataset('shunk031/JGLUE', name='JNLI')\n"
        "except Exception as e: print(type(e).__name__)\n"
        "print('refused' if egress.state().refused else 'no-attempt')"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    lines = proc.stdout.split()
    assert lines and lines[-1] in ("refused", "no-attempt"), proc.stderr[-500:]
    assert "DatasetNotFoundError" in proc.stdout or "ConnectionError" in proc.stdout or lines[-1] == "refused"


def test_every_request_is_checked_even_on_uvloop() -> None:
    """uvloop connects in C, out of the audit hook's sight: the HTTP layer checks each request itself."""
    from llamune_eval import aio

    with FaultServer() as srv, egress.configured(allow_loopback=False, hosts=["127.0.0.1"]):
        backend = OpenAIBackend(srv.url, flavor="openai")

        async def stray() -> None:
            try:
                await backend._client.get(f"http://127.0.0.2:{srv.server.port}/v1/models")
            finally:
                await backend.aclose()

        before = len(srv.server.requests)
        with pytest.raises(EngineError) as info:
            aio.run(stray())
        assert info.value.kind is ErrorKind.EGRESS
        assert len(srv.server.requests) == before
