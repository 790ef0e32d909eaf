"""Egress guard: nothing this process runs may contact a host other than loopback and the configured engines.

The guard is a CPython audit hook on `socket.getaddrinfo`, `socket.connect` and `socket.sendto`, so it covers
every library in the process (httpx, datasets, huggingface_hub, urllib), fails before a byte (or a DNS query)
leaves, and cannot be bypassed by a library that builds its own HTTP client. It also turns off the
hub and telemetry features of the libraries we load, so they do not even try.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import sys
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})
HUB_HOSTS = ("huggingface.co", "cdn-lfs.huggingface.co", "cdn-lfs.hf.co", "hf.co")


class EgressBlocked(PermissionError):
    """A connection to a destination outside the allowlist was refused before it was made."""


@dataclass
class EgressState:
    """What may be contacted, and what was refused (the chat header's 外部通信 meter reads it)."""

    allow_loopback: bool = True
    hosts: set[str] = field(default_factory=set)
    ips: set[str] = field(default_factory=set)
    ports: dict[str, set[int]] = field(default_factory=dict)  # host -> allowed ports; empty = any
    refused: list[str] = field(default_factory=list)
    engine_bytes: int = 0  # sent and received by our engine clients, counted on their connections
    external_bytes: int = 0  # the same clients' bytes to any other host (0: the guard refuses such connections)
    lock: threading.Lock = field(default_factory=threading.Lock)


_state = EgressState()
_installed = False


def state() -> EgressState:
    return _state


def _is_loopback_ip(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def is_address(host: str) -> bool:
    """Whether `host` is an IP address (no name to look up)."""
    return _is_ip(host.strip("[]"))


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True


def is_allowed(host: str | None, port: int | None = None, st: EgressState | None = None) -> bool:
    """Decide without touching the network whether `host:port` may be contacted."""
    st = st or _state
    if host is None or host == "":
        return True  # getaddrinfo(None, ...) resolves the local wildcard address
    h = host.strip("[]").lower().rstrip(".")
    ports = st.ports.get(h)
    if ports and port is not None and port not in ports:
        return False
    if h in st.hosts or h in st.ips:
        return True
    return st.allow_loopback and (h in LOOPBACK_NAMES or _is_loopback_ip(h))


def allow(hosts: Iterable[str]) -> None:
    """Add engine hosts (names, IPs or URLs) to the allowlist; names are resolved once to their addresses."""
    for raw in hosts:
        host = urlsplit(raw).hostname if "://" in raw else raw.rsplit(":", 1)[0] if raw.count(":") == 1 else raw
        if not host:
            continue
        h = host.strip("[]").lower().rstrip(".")
        if _is_ip(h):
            _state.ips.add(h)
            continue
        _state.hosts.add(h)
        try:
            for info in socket.getaddrinfo(h, None):
                _state.ips.add(str(info[4][0]))
        except OSError:
            pass  # unresolvable now; a later connect resolves and is checked by name


def _refuse(what: str) -> None:
    with _state.lock:
        if len(_state.refused) < 1000:
            _state.refused.append(what)
    raise EgressBlocked(f"egress guard refused {what}: not loopback and not a configured engine host")


def _hook(event: str, args: tuple[Any, ...]) -> None:
    if not event.startswith("socket."):
        return
    if event == "socket.getaddrinfo":
        host = args[0]
        if isinstance(host, bytes):
            host = host.decode("idna", "replace")
        if not is_allowed(host):
            _refuse(f"name lookup of {host!r}")
    elif event in ("socket.connect", "socket.sendto"):
        sock, address = args[0], args[1]
        if getattr(sock, "family", None) not in (socket.AF_INET, socket.AF_INET6):
            return  # unix sockets and netlink stay on the machine
        host, port = str(address[0]), int(address[1])
        if not is_allowed(host, port):
            _refuse(f"connection to {host}:{port}")


def install() -> EgressState:
    """Install the process-wide guard (idempotent) and the offline defaults of the libraries we load."""
    global _installed
    if not _installed:
        sys.addaudithook(_hook)
        _installed = True
    return _state


def offline_env(allow_hub: bool = False) -> None:
    """Hub downloads and telemetry off unless the operator allowlisted the hub explicitly."""
    flags = {
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_HUB_DISABLE_IMPLICIT_TOKEN": "1",
        "DO_NOT_TRACK": "1",
        "DISABLE_TELEMETRY": "1",
    }
    if not allow_hub:
        flags |= {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    else:
        allow(HUB_HOSTS)
    os.environ.update(flags)


@contextmanager
def configured(
    *, allow_loopback: bool = True, hosts: Iterable[str] = (), ports: dict[str, set[int]] | None = None
) -> Iterator[EgressState]:
    """Temporarily replace the allowlist (tests use it to prove refusals on loopback-only addresses)."""
    global _state
    saved = _state
    _state = EgressState(allow_loopback=allow_loopback, ports=dict(ports or {}))
    allow(hosts)
    try:
        yield _state
    finally:
        _state = saved
