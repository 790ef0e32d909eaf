"""Installed datasets and the portable bundle that carries them into a closed network.

Each installed dataset is a folder with its files and a `manifest.json` (name, version, licence, where it came
from, every file's sha256, size and rows). A bundle is one tar.gz: a top-level `manifest.json` listing the
datasets' manifests, then `<dataset>/<file>`. Importing verifies every file against the bundle's manifest and the
catalog's published digests before anything is installed; a mismatch is one clear error and changes nothing.
"""

from __future__ import annotations

import hashlib
import shutil
import tarfile
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from pydantic import BaseModel, ConfigDict, ValidationError

from llamune_eval import jsonio
from llamune_eval.data.catalog import CATALOG, DataError, Dataset, sha256_of

FORMAT = "llamune-eval-data/1"
MANIFEST = "manifest.json"
CHUNK = 1 << 20


class FileEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    sha256: str
    bytes: int
    rows: int | None = None
    published: bool | None = None  # True: the catalog's published digest; None: upstream publishes none


class Manifest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    title: str
    version: str
    licence: str
    kind: str
    source: str
    pulled_at: str
    files: list[FileEntry]

    def digest(self) -> str:
        """One digest for the dataset: of its files' digests, in name order."""
        joined = "".join(f"{f.name}:{f.sha256}\n" for f in sorted(self.files, key=lambda f: f.name))
        return hashlib.sha256(joined.encode()).hexdigest()


class Bundle(BaseModel):
    model_config = ConfigDict(extra="forbid")
    format: str
    created_at: str
    datasets: list[Manifest]


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def check_published(dataset: Dataset, name: str, sha256: str, where: str) -> bool | None:
    """Whether a file is the published one: True, None when upstream publishes no digest; else an error."""
    known = next((f for f in dataset.files if f.name == name), None)
    if known is None:
        raise DataError(f"{where}: {name} is not a file of {dataset.name}")
    if known.sha256 is None:
        return None
    if known.sha256 != sha256:
        raise DataError(
            f"{where}: {dataset.name}/{name} has sha256 {sha256[:16]}…, the published file has "
            f"{known.sha256[:16]}… (not {dataset.title} {dataset.version})"
        )
    return True


def read_manifest(path: Path) -> Manifest:
    try:
        return Manifest.model_validate(jsonio.loads(path.read_bytes()))
    except (OSError, ValueError, ValidationError) as exc:
        raise DataError(f"{path}: not a dataset manifest ({str(exc).splitlines()[0][:160]})") from exc


def installed(root: Path) -> dict[str, Manifest]:
    """The datasets installed under `root`, by name."""
    out: dict[str, Manifest] = {}
    if root.is_dir():
        for path in sorted(root.glob(f"*/{MANIFEST}")):
            if path.parent.name in CATALOG:
                out[path.parent.name] = read_manifest(path)
    return out


def verify(root: Path, names: Iterable[str] = ()) -> list[str]:
    """Problems with the installed data (each one line); empty when every file hashes to its manifest."""
    problems: list[str] = []
    manifests = installed(root)
    for name in list(names) or list(manifests):
        manifest = manifests.get(name)
        if manifest is None:
            problems.append(f"{root / name}: not installed")
            continue
        for entry in manifest.files:
            path = root / name / entry.name
            try:
                with path.open("rb") as f:
                    sha, size, _ = sha256_of(f)
            except OSError as exc:
                problems.append(f"{path}: {exc.strerror or exc}")
                continue
            if sha != entry.sha256 or size != entry.bytes:
                problems.append(f"{path}: sha256 {sha[:16]}… differs from its manifest's {entry.sha256[:16]}…")
    return problems


def pack(root: Path, names: list[str], out: Path) -> Bundle:
    """The installed datasets `names` (every one when empty) as one verified tar.gz bundle."""
    manifests = installed(root)
    chosen = names or list(manifests)
    missing = [n for n in chosen if n not in manifests]
    if missing:
        raise DataError(f"{root}: not installed: {', '.join(missing)} (run `llamune-eval data pull` first)")
    problems = verify(root, chosen)
    if problems:
        raise DataError(problems[0])
    bundle = Bundle(format=FORMAT, created_at=now(), datasets=[manifests[n] for n in chosen])
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    with tarfile.open(partial, "w:gz") as tar:
        body = jsonio.dumps(bundle.model_dump(mode="json"), indent=2).encode()
        info = tarfile.TarInfo(MANIFEST)
        info.size, info.mtime, info.mode = len(body), 0, 0o644
        tar.addfile(info, _bytes(body))
        for manifest in bundle.datasets:
            for entry in manifest.files:
                tar.add(root / manifest.name / entry.name, arcname=f"{manifest.name}/{entry.name}", recursive=False)
    partial.replace(out)
    return bundle


def _bytes(body: bytes) -> IO[bytes]:
    import io

    return io.BytesIO(body)


def import_bundle(root: Path, source: Path) -> list[Manifest]:
    """Install the datasets of a bundle (tar.gz) or an unpacked bundle folder, all or nothing."""
    if not source.exists():
        raise DataError(f"{source}: no such file or directory")
    root.mkdir(parents=True, exist_ok=True)
    staging = root / f".staging-{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    try:
        bundle = _unpack(source, staging)
        for manifest in bundle.datasets:
            (staging / manifest.name / MANIFEST).write_bytes(
                jsonio.dumps(manifest.model_dump(mode="json"), indent=2).encode()
            )
        for manifest in bundle.datasets:  # every file verified: now swap each dataset in
            swap_in(staging / manifest.name, root / manifest.name)
        return bundle.datasets
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def swap_in(ready: Path, target: Path) -> None:
    """Replace `target` by the fully written and checked folder `ready` (two renames on one filesystem)."""
    old = target.with_name(f".old-{target.name}-{uuid.uuid4().hex[:8]}")
    if target.exists():
        target.replace(old)
    ready.replace(target)
    shutil.rmtree(old, ignore_errors=True)


def _unpack(source: Path, staging: Path) -> Bundle:
    """Read the bundle's manifest, copy each listed file into `staging` while hashing it, and check it."""
    bundle = _unpack_folder(source, staging) if source.is_dir() else _unpack_tar(source, staging)
    for manifest in bundle.datasets:
        for entry in manifest.files:
            with (staging / manifest.name / entry.name).open("rb") as f:
                sha, size, _ = sha256_of(f)
            if sha != entry.sha256 or size != entry.bytes:
                raise DataError(
                    f"{source}: {manifest.name}/{entry.name} does not match its manifest "
                    f"(sha256 {sha[:16]}…, expected {entry.sha256[:16]}…): the bundle was altered "
                    "or damaged; nothing was installed"
                )
            check_published(CATALOG[manifest.name], entry.name, sha, str(source))
    return bundle


def _unpack_folder(source: Path, staging: Path) -> Bundle:
    try:
        raw = (source / MANIFEST).read_bytes()
    except OSError as exc:
        raise DataError(f"{source}: no readable {MANIFEST} (not an unpacked data bundle)") from exc
    bundle = _bundle(raw, str(source))
    for manifest in bundle.datasets:
        for entry in manifest.files:
            path = source / manifest.name / entry.name
            if not path.is_file():
                raise DataError(f"{source}: {manifest.name}/{entry.name} is listed in the manifest but missing")
            with path.open("rb") as f:
                _receive(f, staging / manifest.name / entry.name)
    return bundle


def _unpack_tar(source: Path, staging: Path) -> Bundle:
    try:
        with tarfile.open(source, "r:*") as tar:
            members = {m.name: m for m in tar.getmembers()}
            if MANIFEST not in members:
                raise DataError(f"{source}: no {MANIFEST} (not a llamune-eval data bundle)")
            bundle = _bundle(_read_member(tar, members[MANIFEST]), str(source))
            listed = {f"{m.name}/{e.name}" for m in bundle.datasets for e in m.files}
            extra = sorted(set(members) - listed - {MANIFEST})
            if extra:
                raise DataError(f"{source}: {extra[0]} is not listed in the manifest")
            for arcname in sorted(listed):
                member = members.get(arcname)
                stream = tar.extractfile(member) if member is not None and member.isfile() else None
                if stream is None:
                    raise DataError(f"{source}: {arcname} is listed in the manifest but missing")
                _receive(stream, staging / arcname)
    except (OSError, tarfile.TarError, EOFError) as exc:
        raise DataError(f"{source}: not a readable data bundle ({exc})") from exc
    return bundle


def _read_member(tar: tarfile.TarFile, member: tarfile.TarInfo) -> bytes:
    stream = tar.extractfile(member)
    if stream is None:
        raise DataError(f"{member.name}: not a file")
    return stream.read()


def _bundle(raw: bytes, where: str) -> Bundle:
    try:
        bundle = Bundle.model_validate(jsonio.loads(raw))
    except (ValueError, ValidationError) as exc:
        raise DataError(f"{where}: unreadable {MANIFEST} ({str(exc).splitlines()[0][:160]})") from exc
    if bundle.format != FORMAT:
        raise DataError(f"{where}: bundle format {bundle.format!r}, this version reads {FORMAT!r}")
    for manifest in bundle.datasets:
        if manifest.name not in CATALOG:
            raise DataError(f"{where}: unknown dataset {manifest.name!r} in the bundle")
        for entry in manifest.files:
            if "/" in entry.name or "\\" in entry.name or entry.name.startswith("."):
                raise DataError(f"{where}: unsafe file name {entry.name!r} in the manifest")
    return bundle


def _receive(stream: IO[bytes], target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("wb") as out:
        shutil.copyfileobj(stream, out, CHUNK)
