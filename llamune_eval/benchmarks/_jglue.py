"""What the four JGLUE-style loaders share: finding the split's rows in a directory, a file or a hub dataset,
and a version that changes whenever the data does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from llamune_eval.benchmarks._sources import HF_PREFIX, load_hf, read_jsonl
from llamune_eval.benchmarks._suite import SuiteError

HF_SPLITS = {"valid": "validation", "train": "train"}


def split_rows(source: str, split: str, *, required: bool = True) -> tuple[list[dict[str, Any]], str]:
    """Rows of `split` ('valid' or 'train') and where they came from.

    A directory holds `<split>.jsonl` (or upstream's `<split>-v1.3.json` JSON Lines); a file is the valid split.
    """
    if source.startswith(HF_PREFIX):
        try:
            return load_hf(source, HF_SPLITS[split]), f"{source}[{HF_SPLITS[split]}]"
        except SuiteError:
            if required:
                raise
            return [], source  # a hub dataset without this split (the valid split's own error is the one shown)
    path = Path(source).expanduser()
    if path.is_file():
        if split != "valid":
            return [], str(path)
        return read_jsonl(path), str(path)
    if not path.is_dir():
        raise SuiteError(f"{path}: no such file or directory")
    for name in (f"{split}.jsonl", f"{split}.json", f"{split}-v1.3.json", f"{split}-v1.1.json"):
        candidate = path / name
        if candidate.is_file():
            return read_jsonl(candidate), str(candidate)
    if required:
        raise SuiteError(f"{path}: no {split}.jsonl")
    return [], str(path)
