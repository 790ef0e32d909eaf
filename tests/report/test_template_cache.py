"""The compiled template kept across processes: a fresh process writes it under LLAMUNE_CACHE, the next one loads
it and renders the same bytes; a cache that is damaged, unwritable or not safely ours is no cache, never a failed
report."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from fixtures.synth import synthesize
from llamune_eval.config import Config
from llamune_eval.report import collect, render_html
from llamune_eval.report.bytecode import bytecode_cache
from llamune_eval.store.results import Store

ROOT = Path(__file__).resolve().parents[2]
RENDER = """
import json, sys
from pathlib import Path
from llamune_eval.report.render import render_html
Path(sys.argv[2]).write_text(render_html(json.loads(Path(sys.argv[1]).read_text())), encoding="utf-8")
"""


@pytest.fixture(scope="module")
def report_json(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A quarter's data as report.json has it, and its page rendered in this process."""
    tmp = tmp_path_factory.mktemp("cache")
    cfg = Config.model_validate({"paths": {"store": str(tmp / "s.duckdb"), "reports": str(tmp / "reports"),
                                           "recommended": str(tmp / "none")}})  # fmt: skip
    synthesize(cfg.paths.store, 600)
    with Store(cfg.paths.store) as store:
        data: dict[str, Any] = json.loads(json.dumps(collect(store, cfg, "2026-Q4"), default=str))
    path = tmp / "report.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path, render_html(data)


def _render(data: Path, out: Path, cache: Path) -> str:
    """The page rendered by a fresh process whose cache folder is `cache`."""
    env = {**os.environ, "LLAMUNE_CACHE": str(cache), "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", RENDER, str(data), str(out)], env=env, capture_output=True,
                          text=True, timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return out.read_text(encoding="utf-8")


def test_a_fresh_process_writes_the_cache_and_the_next_one_reads_it(report_json: Any, tmp_path: Path) -> None:
    data, expected = report_json
    cache = tmp_path / "cache"
    first = _render(data, tmp_path / "1.html", cache)
    folder = cache / "templates"
    files = sorted(folder.glob("report-*.cache"))
    assert len(files) == 1 and files[0].stat().st_size > 10_000  # the compiled module, not an empty file
    assert folder.stat().st_mode & 0o777 == 0o700 and files[0].stat().st_mode & 0o077 == 0
    written = files[0].stat()
    second = _render(data, tmp_path / "2.html", cache)
    assert second == first == expected  # byte for byte, and as this process renders it
    again = files[0].stat()
    assert (again.st_ino, again.st_mtime_ns) == (written.st_ino, written.st_mtime_ns)  # read, not rewritten


def test_a_damaged_cache_file_is_compiled_again(report_json: Any, tmp_path: Path) -> None:
    data, expected = report_json
    cache = tmp_path / "cache"
    _render(data, tmp_path / "1.html", cache)
    (damaged,) = (cache / "templates").glob("report-*.cache")
    damaged.write_bytes(damaged.read_bytes()[:40])  # cut short inside its header
    assert _render(data, tmp_path / "2.html", cache) == expected
    assert damaged.stat().st_size > 10_000  # replaced by a whole one


def test_no_cache_when_the_folder_cannot_be_made_or_written(report_json: Any, tmp_path: Path) -> None:
    data, expected = report_json
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    assert _render(data, tmp_path / "1.html", blocker / "cache") == expected  # mkdir fails: rendered anyway
    assert blocker.read_text() == "not a folder"
    locked = tmp_path / "locked"
    (locked / "templates").mkdir(parents=True, mode=0o700)
    (locked / "templates").chmod(0o500)
    try:
        assert _render(data, tmp_path / "2.html", locked) == expected
        cached = list((locked / "templates").glob("report-*"))
        assert len(cached) == (1 if os.geteuid() == 0 else 0)  # root writes through 0500; anyone else cannot
    finally:
        (locked / "templates").chmod(0o700)


def test_a_folder_others_may_write_is_not_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Bytecode is code that is run: a folder another user could write into is no cache."""
    monkeypatch.setenv("LLAMUNE_CACHE", str(tmp_path))
    cache = bytecode_cache("options")
    assert cache is not None and Path(cache.directory) == tmp_path / "templates"
    assert cache.pattern.startswith("report-") and cache.pattern.endswith("-%s.cache")
    assert bytecode_cache("other options").pattern != cache.pattern
    (tmp_path / "templates").chmod(0o777)
    assert bytecode_cache("options") is None
