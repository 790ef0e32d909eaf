"""Debian's nginx, started by a test on 127.0.0.1 with a generated configuration: the organisation's channel as
static files (ETag, Last-Modified), the operator's PUT into it, and the WebDAV location for usage drops, as the
README shows them; plus locations that fail on purpose (a 500, a redirect loop, a redirect to another host, a
refused PUT, a location for a full disk).

`nox -s tests` installs nginx as root with apt; without it these tests skip, and under LLAMUNE_REQUIRE_NGINX=1
(CI) a missing nginx fails.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

from tests._programs import require

NGINX = ("/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx")


def find_nginx() -> str | None:
    for path in NGINX:
        if os.access(path, os.X_OK):
            return path
    return shutil.which("nginx")


def require_nginx() -> str:
    return require(find_nginx(), "nginx is not installed (apt-get install nginx)", "LLAMUNE_REQUIRE_NGINX")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# The part of the configuration a deployment uses, as the README shows it (paths and port filled in).
SITE = """
    location /recommended/ {{
        alias {root}/recommended/;
        dav_methods PUT;
        create_full_put_path on;
        limit_except GET HEAD {{ allow 127.0.0.1; deny all; }}
    }}
    location /usage/ {{
        alias {root}/usage/;
        dav_methods PUT;
        create_full_put_path on;
        client_max_body_size 16m;
        limit_except PUT {{ deny all; }}
    }}
"""

FAULTS = """
    location /broken/ {{ return 500; }}
    location /loop/ {{ return 302 /loop/; }}
    location /elsewhere/ {{ return 302 http://192.0.2.1/recommended/index.json; }}
    location /next-door/ {{ return 302 http://127.0.0.1:9/index.json; }}
    location /closed/ {{ limit_except GET {{ deny all; }} alias {root}/closed/; }}
    location /full/ {{
        alias {root}/full/;
        dav_methods PUT;
        create_full_put_path on;
        client_body_temp_path {root}/full/.tmp;
    }}
"""


class Nginx:
    """One nginx on 127.0.0.1: `url(path)` addresses it; `root` holds recommended/, usage/, closed/ and full/."""

    def __init__(self, root: Path, exe: str | None = None) -> None:
        self.exe = exe or require_nginx()
        self.root = root
        self.prefix = root / ".nginx"
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def config(self) -> str:
        user = "user root;\n" if os.geteuid() == 0 else ""  # workers write the drops: as the test's own user
        kinds = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        temp = "".join(f"    {k}_temp_path {self.prefix}/{k};\n" for k in kinds)
        return (
            f"{user}worker_processes 1;\ndaemon off;\npid {self.prefix}/nginx.pid;\n"
            f"error_log {self.prefix}/error.log warn;\nevents {{ worker_connections 64; }}\n"
            f"http {{\n    access_log {self.prefix}/access.log;\n{temp}"
            "    types { application/json json; application/x-ndjson jsonl; }\n"
            "    default_type application/octet-stream;\n"
            f"    server {{\n        listen 127.0.0.1:{self.port};\n"
            + SITE.format(root=self.root)
            + FAULTS.format(root=self.root)
            + "    }\n}\n"
        )

    def __enter__(self) -> Nginx:
        for sub in ("recommended", "usage", "closed", "full"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        self.prefix.mkdir(parents=True, exist_ok=True)
        conf = self.prefix / "nginx.conf"
        conf.write_text(self.config())
        self.proc = subprocess.Popen(
            [self.exe, "-p", str(self.prefix), "-c", str(conf)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                out = self.proc.stdout.read().decode() if self.proc.stdout else ""
                raise RuntimeError(f"nginx exited: {out}\n{(self.prefix / 'error.log').read_text(errors='replace')}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("nginx did not start listening within 20 s")

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def log(self) -> str:
        """The access log: one line per request nginx answered."""
        path = self.prefix / "access.log"
        return path.read_text(errors="replace") if path.exists() else ""
