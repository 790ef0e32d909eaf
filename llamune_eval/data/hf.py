"""Rows of a Hugging Face dataset from the local datasets cache (the hub only where `[network] allow_hub` lets it):
what `hf:` suite sources and `data pull` of hub datasets read."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from llamune_eval.data.catalog import DataError

HF_PREFIX = "hf:"


def hub_rows(source: str, split: str) -> list[dict[str, Any]]:
    """Rows of `hf:<dataset id>[:<config>]` (or a `save_to_disk` folder), each with its `__line__` number.

    Class-label integers are turned back into their names so rows look like the upstream files.
    """
    spec = source.removeprefix(HF_PREFIX)
    dataset_id, _, config = spec.partition(":")
    try:
        import datasets
    except ImportError as exc:  # pragma: no cover - datasets is a dependency
        raise DataError(f"{source}: the datasets package is not installed") from exc
    try:
        if Path(dataset_id).is_dir() and (Path(dataset_id) / "dataset_dict.json").is_file():
            ds = datasets.load_from_disk(dataset_id)[split]
        else:
            ds = datasets.load_dataset(dataset_id, config or None, split=split)
    except Exception as exc:
        offline = os.environ.get("HF_DATASETS_OFFLINE") == "1"
        hint = " (offline: it must already be in the local datasets cache, or set network.allow_hub)" if offline else ""
        raise DataError(f"{source} split {split}: cannot load{hint}: {str(exc).splitlines()[0][:200]}") from exc
    names: dict[str, Any] = {}
    for key, feature in ds.features.items():
        if isinstance(feature, datasets.ClassLabel):
            names[key] = feature
    rows = []
    for n, row in enumerate(ds, 1):
        row = dict(row)
        for key, feature in names.items():
            if isinstance(row.get(key), int):
                row[key] = feature.int2str(row[key])
        row["__line__"] = n
        rows.append(row)
    return rows
