"""Terminal output shared by the commands and the runner: the consoles and the bundled-model preparation bar."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from rich.console import Console


def _console(stderr: bool = False) -> Console:
    """Tables are wide: when output is not a terminal (a log, a pipe) do not squeeze them into 80 columns."""
    probe = Console(stderr=stderr)
    return Console(stderr=stderr, highlight=False, width=None if probe.is_terminal else 160)


console = _console()
err_console = _console(stderr=True)


def print_json(data: Any) -> None:
    """`--json` output: strict RFC 8259 JSON (no NaN or Infinity), indented, on stdout."""
    import sys

    from llamune_eval import jsonio

    sys.stdout.write(jsonio.dumps(data, indent=2) + "\n")
    sys.stdout.flush()


def make_progress(enabled: bool = True) -> Any:
    """The one progress display: a bar per model x preset (or judge), with ETA and a free-text speed column."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[tps]}"),
        console=err_console,
        disable=not enabled,
    )


@contextmanager
def joining_bar(name: str, size: int) -> Iterator[Callable[[int], None]]:
    """The bar while a bundled model's parts are joined and hashed (first use only)."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn

    with Progress(
        TextColumn("joining {task.description}"), BarColumn(), DownloadColumn(), console=err_console, transient=True
    ) as progress:
        task = progress.add_task(name, total=size)
        yield lambda n: progress.advance(task, n)


def prepare_embedded(backend: Any) -> list[str]:
    """Join bundled models that need it (with a bar) and say which cannot be served (`EmbeddedBackend.ready_models`)."""
    return list(backend.ready_models(joining_bar))


class _RichBar:
    def __init__(self, progress: Any, label: str, total: int) -> None:
        self.progress = progress
        self.task = progress.add_task(label, total=total, tps="", start=False)

    def advance(self, note: str = "") -> None:
        if not self.progress.tasks[self.task].started:  # the ETA counts from the first finished item
            self.progress.start_task(self.task)
        self.progress.update(self.task, advance=1, tps=note)

    def relabel(self, label: str) -> None:
        self.progress.update(self.task, description=label)


class RichWatcher:
    """The stages' `runner.progress.Watcher` on a terminal: rich bars on stderr, or, with bars off (logs, cron),
    the stages' lines printed as they are said."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.progress = make_progress(enabled)
        self.depth = 0

    def bar(self, label: str, total: int) -> _RichBar:
        return _RichBar(self.progress, label, total)

    def say(self, line: str) -> None:
        if not self.enabled:
            err_console.print(line, markup=False, highlight=False)

    @contextmanager
    def live(self) -> Iterator[None]:
        """Drawn from the first entry to the last exit: the quarter and its sweep share one display."""
        if not self.depth:
            self.progress.start()
        self.depth += 1
        try:
            yield
        finally:
            self.depth -= 1
            if not self.depth:
                self.progress.stop()

    def joining(self, name: str, size: int) -> AbstractContextManager[Callable[[int], None]]:
        return joining_bar(name, size)
