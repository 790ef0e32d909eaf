"""Settings files as the quarter publishes them, for chat tests."""

from __future__ import annotations

import json
from pathlib import Path

from llamune_eval.settings import digest_of


def recommended_file(folder: Path, version: str, order: list[str], *, limit: int = 1, **update: object) -> Path:
    """A valid recommended settings file (sealed with its digest): `order` is the execution order, first = main."""
    params = {"temperature": 0.0, "top_p": 1.0, "max_tokens": 24}
    models = [{"name": m, "priority": i, "purpose": "メイン推論" if i == 1 else "クロスチェック", "parameters": params}
              for i, m in enumerate(order, 1)]  # fmt: skip
    data: dict[str, object] = {"version": version, "quarter": version.replace("-", " "), "models": models,
                               "executionOrder": order, "concurrentLimit": limit, "updatedAt": "2026-03-31T00:00:00Z",
                               "changelog": f"{version} の推奨設定"}  # fmt: skip
    if update:
        data["update"] = {"newVersion": version, **update}
    data["digest"] = digest_of(data)
    folder.mkdir(exist_ok=True)
    path = folder / f"{version}.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path
