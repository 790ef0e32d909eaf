"""The report template compiled once for all processes: every `llamune-eval run` or `report` is a fresh process,
and compiling the template is most of a render (~80 ms). Jinja keeps the compiled code in
`default_cache_dir()/templates` (LLAMUNE_CACHE, else the XDG cache folder) and recompiles when the template's
checksum changes.

A bytecode file is code that is run, so the folder must be ours and not writable by others; a folder that cannot
be made, read or written (a read-only home) means no cache, never a failed report."""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat

import jinja2
from jinja2.bccache import Bucket

from llamune_eval.config import default_cache_dir


class _QuietCache(jinja2.FileSystemBytecodeCache):
    """Jinja's file cache, except that a cache file that cannot be read or written is a cache miss."""

    def load_bytecode(self, bucket: Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except Exception:  # a truncated or foreign file: compile instead
            bucket.reset()

    def dump_bytecode(self, bucket: Bucket) -> None:
        with contextlib.suppress(OSError):
            super().dump_bytecode(bucket)


def _ours(st: os.stat_result) -> bool:
    """A directory owned by this user that nobody else may write into (no owner check where there are no uids)."""
    if not stat.S_ISDIR(st.st_mode) or st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return False
    return not hasattr(os, "getuid") or st.st_uid == os.getuid()


def bytecode_cache(options: str) -> jinja2.BytecodeCache | None:
    """The cross-process cache, or None when its folder cannot be made or is not safely ours. `options` names the
    Environment settings compiled into the code (autoescape, finalize ...): Jinja keys its files on the template
    alone, so they and Jinja's version go into the file names, and code compiled under other settings is not used."""
    folder = default_cache_dir() / "templates"
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = folder.stat()
    except OSError:
        return None
    if not _ours(st):
        return None
    flavour = hashlib.sha256(f"{jinja2.__version__}|{options}".encode()).hexdigest()[:16]
    return _QuietCache(str(folder), f"report-{flavour}-%s.cache")
