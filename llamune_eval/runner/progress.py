"""How a stage tells whoever watches it how far it has got: bars with a total, advanced as work finishes, and
lines for logs. The stages draw nothing themselves and import no terminal code; the front end passes a `Watcher`
(`ui.RichWatcher` draws rich bars on stderr, or prints the lines when bars are off) and a library caller may pass
nothing (`SILENT`)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import Protocol


class Bar(Protocol):
    def advance(self, note: str = "") -> None:
        """One more done; `note` is shown beside the bar (e.g. the generation speed so far)."""

    def relabel(self, label: str) -> None: ...


class Watcher(Protocol):
    def bar(self, label: str, total: int) -> Bar:
        """A bar that starts timing (its ETA) at its first advance."""
        ...

    def say(self, line: str) -> None:
        """A line for logs (cron, CI): where a long run is. Bars on screen already say it, so a watcher drawing
        them may keep it to itself."""

    def live(self) -> contextlib.AbstractContextManager[None]:
        """Bars are drawn while inside."""
        ...

    def joining(self, name: str, size: int) -> contextlib.AbstractContextManager[Callable[[int], None]]:
        """While a bundled model's parts are joined (first use only): a callback for the bytes done."""
        ...


class _Quiet:
    def advance(self, note: str = "") -> None:
        pass

    def relabel(self, label: str) -> None:
        pass


class Silent:
    """Nothing drawn, nothing said: for library callers and tests."""

    def bar(self, label: str, total: int) -> Bar:
        return _Quiet()

    def say(self, line: str) -> None:
        pass

    @contextlib.contextmanager
    def live(self) -> Iterator[None]:
        yield

    @contextlib.contextmanager
    def joining(self, name: str, size: int) -> Iterator[Callable[[int], None]]:
        yield lambda n: None


SILENT = Silent()


class Speed:
    """Tokens per second per bar since its first finished item: the note the sweep and the judge show."""

    def __init__(self) -> None:
        self.started: dict[object, float] = {}
        self.tokens: dict[object, int] = {}

    def note(self, key: object, tokens: int) -> str:
        now = time.monotonic()
        start = self.started.setdefault(key, now)
        self.tokens[key] = self.tokens.get(key, 0) + tokens
        return f"{self.tokens[key] / (now - start):.1f} tok/s" if now > start else ""
