"""What following the organisation's channel costs a user: `llamune chat` from start to its prompt (and to ready)
on a pseudo-terminal, and the first answer's TTFT on the real engine (embedded SmolLM2), with the channel
reachable, refused (nothing listens) and hanging (accepts, never answers), each as a ratio to the same user with no
channel, measured in the same run. Goal: <= 1.05 each.

Every variant is the same user in the steady state: the channel's current file already installed and verified
with the organisation's public key; only `[chat] channel` differs, and the channel's servers run in processes of
their own, as another machine would. The check runs in the background after the prompt, so the start should not
move at all. TTFT is taken twice: as a person asks (the check starts as `llamune` starts it, the question a second
later) and at the same moment as the check (the worst case, when both share the loop).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from bench.chat_overhead import _on_a_terminal
from bench.engine_overhead import instant_stub

if TYPE_CHECKING:
    from llamune_eval.chat.runtime import ChatRuntime

VARIANTS = ("none", "reachable", "refused", "hanging")


def _keys(folder: Path) -> tuple[Path, Path]:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

    key = Ed25519PrivateKey.generate()
    private, public = folder / "org.pem", folder / "org.pub.pem"
    private.write_bytes(key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    public.write_bytes(key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo))
    return private, public


def _channel(folder: Path, key: Path, model: str) -> Path:
    """A published, signed settings file in the channel folder, and its index (publish does it)."""
    from llamune_eval.channel.publish import publish_channel
    from llamune_eval.settings import canonical, digest_of

    params = {"temperature": 0.0, "top_p": 1.0, "max_tokens": 8}
    data = {"version": "2027-Q1", "quarter": "2027-Q1", "executionOrder": [model], "concurrentLimit": 1,
            "models": [{"name": model, "priority": 1, "purpose": "メイン推論", "parameters": params}],
            "updatedAt": "2026-12-01T00:00:00Z", "changelog": "bench"}  # fmt: skip
    data["digest"] = digest_of(data)
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    private = load_pem_private_key(key.read_bytes(), password=None)
    data["signature"] = private.sign(canonical(data)).hex()  # type: ignore[union-attr]
    rec = folder.parent / "operator-recommended"
    rec.mkdir(exist_ok=True)
    (rec / "2027-Q1.json").write_text(json.dumps(data, ensure_ascii=False))
    asyncio.run(publish_channel(rec, str(folder)))
    return rec / "2027-Q1.json"


HANGING = """
import socket, sys, time
s = socket.create_server(("127.0.0.1", 0))
print(s.getsockname()[1], flush=True)
held = []
while True:
    held.append(s.accept()[0])
"""


@contextlib.contextmanager
def _process(args: list[str]) -> Iterator[str]:
    """A server in a process of its own (a channel is another machine: it must not share our interpreter's lock),
    which prints its port first."""
    proc = subprocess.Popen([sys.executable, *args], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    try:
        yield f"http://127.0.0.1:{int(proc.stdout.readline())}/"
    finally:
        proc.kill()
        proc.wait()


def _served(folder: Path) -> contextlib.AbstractContextManager[str]:
    """The channel folder over HTTP (Python's static file server: Last-Modified and 304s)."""
    code = (
        "import http.server, functools, sys\n"
        f"h = functools.partial(http.server.SimpleHTTPRequestHandler, directory={str(folder)!r})\n"
        "h.func.log_message = lambda *a: None\n"
        "s = http.server.ThreadingHTTPServer(('127.0.0.1', 0), h)\n"
        "print(s.server_address[1], flush=True)\ns.serve_forever()\n"
    )
    return _process(["-c", code])


def _hanging() -> contextlib.AbstractContextManager[str]:
    """A server that accepts connections and never answers."""
    return _process(["-c", HANGING])


def _refused() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/"


@contextlib.contextmanager
def _channels(root: Path, key: Path, model: str) -> Iterator[tuple[dict[str, str | None], Path]]:
    folder = root / "channel"
    folder.mkdir()
    published = _channel(folder, key, model)
    with _served(folder) as reachable, _hanging() as hanging:
        yield {"none": None, "reachable": reachable, "refused": _refused(), "hanging": hanging}, published


def _user(root: Path, name: str, channel: str | None, public: Path, published: Path, engine: str) -> dict[str, str]:
    """A user's home with the channel's file installed, and the environment that makes it theirs."""
    home = root / name
    settings = home / ".local" / "share" / "llamune" / "recommended"
    settings.mkdir(parents=True)
    shutil.copy(published, settings / published.name)
    line = f'channel = "{channel}"\n' if channel else ""
    (home / "llamune.toml").write_text(f'{engine}\n[chat]\ntitles = false\npublic_key = "{public}"\n{line}')
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LLAMUNE_", "XDG_"))}
    return {**env, "HOME": str(home), "XDG_DATA_HOME": str(home / ".local" / "share"), "TERM": "xterm",
            "LLAMUNE_SETTINGS": str(home / "none.toml"), "LLAMUNE_CONFIG": str(home / "llamune.toml")}  # fmt: skip


def startup(runs: int = 11) -> None:
    cmd = [sys.executable, "-m", "llamune_eval.chat.cli", "chat"]
    with tempfile.TemporaryDirectory() as tmp, instant_stub() as url:
        root = Path(tmp)
        _, public = _keys(root)
        key = root / "org.pem"
        engine = f'[[engines]]\nkind = "openai"\nurl = "{url}"'
        with _channels(root, key, "m") as (channels, published):
            envs = {v: _user(root, v, channels[v], public, published, engine) for v in VARIANTS}
            # every variant reads the same installed, signed file (with no channel the default folder would be ./)
            folder = {v: str(Path(envs[v]["XDG_DATA_HOME"]) / "llamune" / "recommended") for v in VARIANTS}
            rounds: dict[str, list[tuple[float, float]]] = {v: [] for v in VARIANTS}
            for r in range(runs):  # interleaved, each variant first in turn: the machine's drift falls on all
                for k in range(len(VARIANTS)):
                    v = VARIANTS[(r + k) % len(VARIANTS)]
                    rounds[v].append(_on_a_terminal([*cmd, "--recommended", folder[v]], envs[v], runs=1))
    times = {v: (statistics.median(p for p, _ in t), statistics.median(r for _, r in t)) for v, t in rounds.items()}
    base_prompt, base_ready = times["none"]
    parts = [f"no channel: prompt {base_prompt:.3f} s, ready {base_ready:.3f} s"]
    for v in VARIANTS[1:]:
        prompt, ready = times[v]
        parts.append(f"{v}: prompt {prompt:.3f} s ({prompt / base_prompt:.3f}), ready {ready:.3f} s "
                     f"({ready / base_ready:.3f})")  # fmt: skip
    print(f"[channel] start-up on a terminal (median of {runs}; goal <= 1.05): " + "; ".join(parts))


async def _first_token(rt: ChatRuntime, question: str) -> float:
    """Seconds from asking until the first streamed piece of the answer."""
    first: list[float] = []
    start = time.perf_counter()
    await rt.ask(question, on_token=lambda _t: first or first.append(time.perf_counter() - start))
    return first[0]


MODES = {
    # as a session runs: the check starts START_DELAY_S after the prompt, the question comes a second later (a
    # person typing); a hanging channel is still waiting then
    "as a person asks": 1.0,
    # the worst case: the check and the question leave at the same moment, and share the loop
    "at the same moment": 0.0,
}


def ttft(rounds: int = 16) -> None:
    """Each round asks one question per variant, in rotated order, each in a new session whose channel check runs
    in the background as `llamune` runs it; the medians per variant, for both moments of asking (`MODES`)."""
    from llamune_eval.chat.db import ChatDB
    from llamune_eval.chat.runtime import ChatRuntime
    from llamune_eval.chat.share import Sharing
    from llamune_eval.chat.share_cmd import START_DELAY_S
    from llamune_eval.config import ChatConfig
    from llamune_eval.engines import Engine, OpenAIBackend, bundled
    from llamune_eval.engines.embedded import EmbeddedServer
    from llamune_eval.settings import Active, LLMParameters, ModelConfig

    if not bundled.available(bundled.SMOLLM2):
        print("[channel] TTFT: skipped, SmolLM2 not installed")
        return
    srv = EmbeddedServer("smol", bundled.model_file(bundled.SMOLLM2), parallel=1, ctx_per_slot=2048)
    url = srv.start()
    params = LLMParameters(temperature=0.0, top_p=1.0, max_tokens=8)
    active = Active(source="recommended", version="2027-Q1", execution_order=["smol"], concurrent_limit=1, reason="",
                    models=[ModelConfig(name="smol", priority=1, purpose="bench", parameters=params)])  # fmt: skip

    async def later(delay: float, sharing: Sharing) -> None:
        await asyncio.sleep(delay)
        await sharing.follow()

    async def measure(
        root: Path, channels: dict[str, str | None], public: Path, published: Path, typing: float
    ) -> dict[str, list[float]]:
        out: dict[str, list[float]] = {v: [] for v in VARIANTS}
        async with Engine([OpenAIBackend(url, max_concurrency=1)]) as engine:
            for r in range(rounds):
                for k in range(len(VARIANTS)):
                    variant = VARIANTS[(r + k) % len(VARIANTS)]
                    folder = root / f"{variant}-{r}-{typing}"
                    folder.mkdir()
                    shutil.copy(published, folder / published.name)
                    db = ChatDB(folder / "chat.sqlite")
                    rt = ChatRuntime(engine, db, active, ["smol"], titles=False)
                    rt.start()
                    chat = ChatConfig(channel=channels[variant], public_key=public)
                    sharing = Sharing(chat, db, folder)
                    sharing.background(later(START_DELAY_S if typing else 0.0, sharing))
                    await asyncio.sleep(typing)
                    question = f"Say the number {100 + 4 * r + k}."
                    out[variant].append(await _first_token(rt, question))
                    await sharing.stop()
                    db.close()
        return out

    results = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            key, public = _keys(root)
            with _channels(root, key, "smol") as (channels, published):
                for mode, typing in MODES.items():
                    results[mode] = asyncio.run(measure(root, channels, public, published, typing))
    finally:
        srv.stop()
    for mode, times in results.items():
        base = statistics.median(times["none"])
        parts = [f"no channel {base * 1000:.1f} ms"] + [
            f"{v} {statistics.median(times[v]) * 1000:.1f} ms ({statistics.median(times[v]) / base:.3f})"
            for v in VARIANTS[1:]
        ]
        print(f"[channel] TTFT on SmolLM2, {mode} (median of {rounds}, interleaved; goal <= 1.05): "
              + ", ".join(parts))  # fmt: skip


def main() -> None:
    startup()
    ttft()


if __name__ == "__main__":
    main()
