"""The network figure is measured, not a constant: bytes sent and received on every connection the engine
clients open, split into the engine and anything else."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from llamune_eval import egress
from llamune_eval.config import Timeouts
from llamune_eval.engines import Engine, OpenAIBackend
from llamune_eval.engines._http import make_client
from llamune_eval.types import SamplingParams
from tests.report.test_closed_network import _namespace
from tests.stubs.faults import FaultServer


async def test_engine_bytes_are_counted_both_ways_on_the_real_engine(smollm2_server: Any) -> None:
    st = egress.state()
    before = (st.engine_bytes, st.external_bytes)
    prompt = "Name one colour. " * 40
    async with Engine([OpenAIBackend(smollm2_server.url)]) as engine:
        result = await engine.chat("smollm2:135m", prompt, SamplingParams(temperature=0, max_tokens=8))
    sent_and_received = st.engine_bytes - before[0]
    assert sent_and_received > len(prompt) + len(result.text)  # the request went out, the stream came back
    assert st.external_bytes == before[1]


async def test_bytes_to_any_other_host_are_counted_apart() -> None:
    """A client made for one engine that is sent elsewhere (an absolute URL to another local port): its bytes are
    not the engine's."""
    st = egress.state()
    with FaultServer() as engine_srv, FaultServer() as other:
        client = make_client(engine_srv.url, Timeouts())
        before = (st.engine_bytes, st.external_bytes)
        async with client:
            await client.get("/v1/models")
            after_engine = st.engine_bytes
            await client.get(f"{other.url}/v1/models")
    assert after_engine > before[0] and st.external_bytes > before[1]


def test_a_chat_in_a_namespace_reports_engine_bytes_and_zero_else(tmp_path: Path, smollm2_path: Path) -> None:
    unshare = _namespace()
    if unshare is None:
        pytest.skip("cannot make a network namespace here (unshare -n / -rn and ip link set lo up failed)")
    (tmp_path / "llamune.toml").write_text(
        f'[[engines]]\nkind = "embedded"\nparallel = 1\nctx_per_slot = 1024\n'
        f'models = [{{ name = "smol", path = "{smollm2_path}" }}]\n[chat]\ntitles = false\n'
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LLAMUNE_", "OLLAMA_"))}
    env |= {"XDG_CONFIG_HOME": str(tmp_path / "config"), "COLUMNS": "200"}
    script = 'ip link set lo up && exec "$0" -m llamune_eval.chat.cli chat --db chat.sqlite'
    proc = subprocess.run([*unshare, "sh", "-c", script, sys.executable], cwd=tmp_path, input="Say hi.\n/quit\n",
                          capture_output=True, text=True, timeout=300, env=env)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    found = re.search(r"通信量: エンジン ([\d,]+) B · 外部 ([\d,]+) B", proc.stdout)
    assert found, proc.stdout[-1000:]
    engine, other = (int(g.replace(",", "")) for g in found.groups())
    assert engine > 1000 and other == 0
