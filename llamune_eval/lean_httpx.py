"""httpx, without its command-line client.

`import httpx` also imports httpx's own terminal client (`httpx._main`: click, rich's progress and syntax
modules, pygments) whenever those are installed, as they are beside us: ~60 ms on every command and before the
chat's prompt, for a client we never run in-process. An empty module stands in for it here; httpx then keeps its
built-in fallback `main`, and the `httpx` command itself (its own process) is untouched.
"""

from __future__ import annotations

import sys
import types

sys.modules.setdefault("httpx._main", types.ModuleType("httpx._main"))

import httpx  # noqa: E402  (after the stand-in, on purpose)

__all__ = ["httpx"]
