"""The datasets `llamune-eval data` knows: where each comes from, its licence, its files and, where published
files are fixed, their sha256 (a pulled or imported file that differs is refused: it is not the published data).

Installed data lives outside the repository, in `[paths] data` (default `$XDG_DATA_HOME/llamune-eval/data`), one
folder per dataset with its `manifest.json`; the quarter then runs it instead of the hand-written samples.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from llamune_eval.types import InputError

JGLUE_BASE = "https://raw.githubusercontent.com/yahoojapan/JGLUE/v1.3.0/datasets"
MT_BENCH_BASE = "https://raw.githubusercontent.com/Stability-AI/FastChat/jp-stable/fastchat/llm_judge/data"
JGLUE_LICENCE = "CC BY-SA 4.0 (Yahoo Japan Corporation, Kawahara Lab, Waseda University)"


class DataError(InputError):
    """A dataset that cannot be pulled, packed, imported or verified; the message names the file."""


@dataclass(frozen=True)
class DataFile:
    """One file of a dataset: its installed name, where upstream publishes it, and what it must hash to."""

    name: str
    upstream: str  # a path under the dataset's base URL, or a split name of a hub dataset
    sha256: str | None = None  # the published file's digest, when upstream files are fixed (a release tag)
    rows: int | None = None
    optional: bool = False  # few-shot splits: the suite falls back to held-apart items without them


@dataclass(frozen=True)
class Dataset:
    name: str
    title: str
    version: str
    licence: str
    kind: str  # the suite kind it loads as: jcommonsenseqa, jnli, jsts, jsquad or inhouse
    base: str  # upstream base URL, or `hf:<dataset id>` for a Hugging Face hub dataset
    files: tuple[DataFile, ...]
    homepage: str
    scored: str  # the file whose items are scored

    def file(self, name: str) -> DataFile:
        return next(f for f in self.files if f.name == name)


CATALOG: dict[str, Dataset] = {d.name: d for d in (
    Dataset("jcommonsenseqa", "JCommonsenseQA (JGLUE)", "v1.3", JGLUE_LICENCE, "jcommonsenseqa", JGLUE_BASE, (
        DataFile("train.jsonl", "jcommonsenseqa-v1.3/train-v1.3.json",
                 "9b55fae5ecb3aedd6f8ce5bc09196c3b629864668ec6c18eee4d65c0aa48229e", 8939, optional=True),
        DataFile("valid.jsonl", "jcommonsenseqa-v1.3/valid-v1.3.json",
                 "0d8d76f3bfa0d174866939882faccdd01fbc2bcd5a76c43748ba0c40a7b3b8d4", 1119),
    ), "https://github.com/yahoojapan/JGLUE", "valid.jsonl"),
    Dataset("jnli", "JNLI (JGLUE)", "v1.3", JGLUE_LICENCE, "jnli", JGLUE_BASE, (
        DataFile("train.jsonl", "jnli-v1.3/train-v1.3.json", None, 20073, optional=True),
        DataFile("valid.jsonl", "jnli-v1.3/valid-v1.3.json",
                 "ca0353efc7c2eebfb6de4e13f16295053c8b1ee65e7b0849190c90426fbc495f", 2434),
    ), "https://github.com/yahoojapan/JGLUE", "valid.jsonl"),
    Dataset("jsts", "JSTS (JGLUE)", "v1.3", JGLUE_LICENCE, "jsts", JGLUE_BASE, (
        DataFile("train.jsonl", "jsts-v1.3/train-v1.3.json",
                 "db6bd653270ac9786759920413a48973164d322998f34dd4ae32202af5e66969", 12451, optional=True),
        DataFile("valid.jsonl", "jsts-v1.3/valid-v1.3.json",
                 "7c0bdcb381179f01096c635d058853d96da1e1248d23fe3f5c2beed5dc2d9b1a", 1457),
    ), "https://github.com/yahoojapan/JGLUE", "valid.jsonl"),
    Dataset("jsquad", "JSQuAD (JGLUE)", "v1.3", JGLUE_LICENCE, "jsquad", JGLUE_BASE, (
        DataFile("valid.json", "jsquad-v1.3/valid-v1.3.json",
                 "fb0a57a35281ff03bbe7f0e878cff5b577985fbe6fcb242e7e8ddb63d1c0ab11", 4442),
    ), "https://github.com/yahoojapan/JGLUE", "valid.json"),
    Dataset("elyza-tasks-100", "ELYZA-tasks-100", "1.0", "CC BY-SA 4.0 (ELYZA, Inc.)", "inhouse",
            "hf:elyza/ELYZA-tasks-100", (DataFile("test.jsonl", "test", None, 100),),
            "https://huggingface.co/datasets/elyza/ELYZA-tasks-100", "test.jsonl"),
    Dataset("japanese-mt-bench", "Japanese MT-Bench (questions and reference answers)", "jp-stable",
            "Apache-2.0 (Stability AI)", "inhouse", MT_BENCH_BASE, (
        DataFile("question.jsonl", "japanese_mt_bench/question.jsonl", None, 80),
        DataFile("reference.jsonl", "japanese_mt_bench/reference_answer/gpt-4.jsonl", None, None, optional=True),
    ), "https://github.com/Stability-AI/FastChat/tree/jp-stable/fastchat/llm_judge", "question.jsonl"),
)}  # fmt: skip
GROUPS = {"jglue": ("jcommonsenseqa", "jnli", "jsts", "jsquad")}


def expand(names: list[str]) -> list[Dataset]:
    """Datasets by name (`jglue` stands for its four tasks); every known one when `names` is empty."""

    out: dict[str, Dataset] = {}
    for name in names or list(CATALOG):
        for one in GROUPS.get(name, (name,)):
            if one not in CATALOG:
                known = ", ".join([*CATALOG, *GROUPS])
                raise DataError(f"unknown dataset {name!r} (known: {known})")
            out[one] = CATALOG[one]
    return list(out.values())


def sha256_of(stream: IO[bytes]) -> tuple[str, int, int]:
    """(sha256, bytes, lines) of a stream, read in 1 MB chunks: the one hashing of data files."""
    digest, size, lines = hashlib.sha256(), 0, 0
    while chunk := stream.read(1 << 20):
        digest.update(chunk)
        size += len(chunk)
        lines += chunk.count(b"\n")
    return digest.hexdigest(), size, lines


def file_sha256(path: Path) -> str:
    with path.open("rb") as f:
        return sha256_of(f)[0]


def recognise(kind: str, source: str) -> tuple[Dataset, str] | None:
    """The dataset a suite's scored file is, and its sha256: a file of a known dataset (an imported one beside its
    manifest, or one whose sha256 is the published digest, wherever it sits); None for anything else."""
    path = Path(source)
    if source.startswith("hf:") or not path.is_file():
        return None
    manifest = path.parent / "manifest.json"
    dataset = CATALOG.get(path.parent.name)
    if dataset is not None and manifest.is_file() and dataset.scored == path.name:
        return dataset, file_sha256(path)
    known = {f.sha256: d for d in CATALOG.values() if d.kind == kind for f in d.files if f.sha256}
    if not known:
        return None
    digest = file_sha256(path)
    return (known[digest], digest) if digest in known else None


def default_dir() -> Path:
    """Where imported data lives when `[paths] data` is unset: outside any repository, per user."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "llamune-eval" / "data"
