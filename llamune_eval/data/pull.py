"""`data pull`: fetch a known dataset from its published source into the data folder, checked as it lands.

The source is upstream (the JGLUE v1.3 release, the Hugging Face hub, the Japanese MT-Bench repository), which
needs `[network] allow_hub = true` on a connected machine, or `--from` a local mirror (a folder laid out like
upstream or like an installed data folder), which needs no network. Either way every file must hash to the
published digest where one is known; the dataset is swapped in only when all of its files arrived.
"""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from llamune_eval import egress, jsonio
from llamune_eval.data.catalog import DataError, DataFile, Dataset, sha256_of
from llamune_eval.data.store import (
    MANIFEST,
    FileEntry,
    Manifest,
    check_published,
    now,
    swap_in,
)

Progress = Callable[[str], None]


def _rows(path: Path, lines: int) -> int:
    """Items in a file: JSON Lines count lines; a SQuAD-layout JSON counts its questions."""
    if path.suffix != ".json":
        return lines
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        return sum(len(p.get("qas") or []) for a in doc.get("data", []) for p in a.get("paragraphs") or [])
    except (OSError, ValueError, AttributeError):
        return 0


def _mirror_file(mirror: Path, dataset: Dataset, file: DataFile) -> Path | None:
    for candidate in (mirror / dataset.name / file.name, mirror / file.upstream, mirror / file.name):
        if candidate.is_file():
            return candidate
    return None


def _download(url: str, target: Path, timeout: float) -> None:
    import httpx

    host = urlsplit(url).hostname or ""
    egress.allow([host])
    try:
        with httpx.stream("GET", url, timeout=timeout, follow_redirects=False) as resp:
            if resp.status_code != 200:
                raise DataError(f"{url}: HTTP {resp.status_code}")
            with target.open("wb") as out:
                for chunk in resp.iter_bytes(1 << 20):
                    out.write(chunk)
    except httpx.HTTPError as exc:
        raise DataError(f"{url}: {exc}") from exc


def _from_hub(dataset: Dataset, file: DataFile, target: Path) -> None:
    from llamune_eval.data.hf import hub_rows

    rows = hub_rows(dataset.base, file.upstream)
    with target.open("w", encoding="utf-8") as out:
        for row in rows:
            row.pop("__line__", None)
            out.write(jsonio.dumps(row) + "\n")


def pull(
    datasets: list[Dataset],
    root: Path,
    *,
    mirror: Path | None = None,
    allow_network: bool = False,
    timeout: float = 120.0,
    progress: Progress | None = None,
) -> list[Manifest]:
    """Fetch each dataset and install it under `root` (one at a time; a failure leaves the others installed)."""
    if mirror is None and not allow_network:
        raise DataError(
            "pulling from upstream needs [network] allow_hub = true (a connected machine); "
            "in a closed network use `data import BUNDLE`, or `data pull --from FOLDER`"
        )
    if mirror is not None and not mirror.is_dir():
        raise DataError(f"{mirror}: no such folder")
    root.mkdir(parents=True, exist_ok=True)
    done = []
    for dataset in datasets:
        staging = root / f".staging-{uuid.uuid4().hex[:8]}"
        (staging / dataset.name).mkdir(parents=True)
        try:
            entries = []
            for file in dataset.files:
                target = staging / dataset.name / file.name
                if progress is not None:
                    progress(f"{dataset.name}/{file.name}")
                if mirror is not None:
                    found = _mirror_file(mirror, dataset, file)
                    if found is None:
                        if file.optional:
                            continue
                        raise DataError(f"{mirror}: no {dataset.name}/{file.name} (nor {file.upstream})")
                    shutil.copyfile(found, target)
                elif dataset.base.startswith("hf:"):
                    _from_hub(dataset, file, target)
                else:
                    _download(f"{dataset.base}/{file.upstream}", target, timeout)
                with target.open("rb") as f:
                    sha, size, lines = sha256_of(f)
                published = check_published(dataset, file.name, sha, str(mirror or dataset.base))
                entries.append(
                    FileEntry(name=file.name, sha256=sha, bytes=size, rows=_rows(target, lines), published=published)
                )
            manifest = Manifest(
                name=dataset.name,
                title=dataset.title,
                version=dataset.version,
                licence=dataset.licence,
                kind=dataset.kind,
                source=str(mirror or dataset.base),
                pulled_at=now(),
                files=entries,
            )
            (staging / dataset.name / MANIFEST).write_text(
                jsonio.dumps(manifest.model_dump(mode="json"), indent=2), encoding="utf-8"
            )
            swap_in(staging / dataset.name, root / dataset.name)
            done.append(manifest)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return done
