"""Child process that hosts one llama.cpp server (xllamacpp) for one model.

Protocol with the parent: the spec arrives as JSON in argv[1]; the child prints one JSON line on stdout,
`{"url": ...}` when listening or `{"error": ...}`, then serves until its stdin reaches EOF. The parent holds the
write end of that pipe, so however the parent ends (exit, Ctrl-C, SIGKILL) the child sees EOF and exits:
no orphans. A watchdog on the parent pid covers a pipe inherited by mistake.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from typing import Any


def _watch_parent(parent: int) -> None:
    while True:
        if os.getppid() != parent:
            os._exit(0)
        time.sleep(0.5)


def _wait_stdin() -> None:
    try:
        while sys.stdin.buffer.read(1):
            pass
    finally:
        os._exit(0)


def main(spec: dict[str, Any]) -> int:
    parent = int(spec.get("parent", os.getppid()))
    if os.getppid() != parent:
        return 0
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    try:
        import xllamacpp

        p = xllamacpp.CommonParams()
        p.model.path = spec["path"]
        p.model_alias = {spec["alias"]}
        p.hostnames = [spec.get("host", "127.0.0.1")]
        p.port = int(spec.get("port", 0))
        p.n_parallel = int(spec["parallel"])
        p.n_ctx = int(spec["ctx_per_slot"]) * int(spec["parallel"])
        p.cpuparams.n_threads = int(spec["threads"])
        p.cpuparams_batch.n_threads = int(spec["threads"])
        p.endpoint_metrics = True
        p.warmup = bool(spec.get("warmup", False))
        if spec.get("cache_ram_mib") is not None:  # llama.cpp's host-memory prompt store (8 GiB by default); 0: none
            p.cache_ram_mib = int(spec["cache_ram_mib"])
        server = xllamacpp.Server(p)
        url = str(server.listening_address)
    except Exception as exc:  # the parent shows this line to the user
        print(json.dumps({"error": f"{type(exc).__name__}: {exc}"}), flush=True)
        return 1
    print(json.dumps({"url": url, "pid": os.getpid()}), flush=True)
    _wait_stdin()  # returns only through os._exit
    del server
    return 0


if __name__ == "__main__":
    sys.exit(main(json.loads(sys.argv[1])))
