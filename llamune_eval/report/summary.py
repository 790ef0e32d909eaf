"""The report's first section: the quarter's recommended settings per tier and the evidence behind each choice,
read from the sealed settings file (its digest is checked, so the report never shows a file the chat refuses)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from llamune_eval.settings import load_recommended
from llamune_eval.types import InputError


def summary_section(folder: Path, quarter: str) -> dict[str, Any]:
    path = folder / f"{quarter}.json"
    if not path.is_file():
        return {"path": str(path), "error": f"{path} がありません（`llamune-eval recommend --quarter {quarter}`）"}
    try:
        load_recommended(path)
        data = json.loads(path.read_text(encoding="utf-8"))
    except (InputError, ValueError, OSError) as exc:
        return {"path": str(path), "error": str(exc)}
    evidence = data.get("evidence", {})
    tiers = []
    for tier in data.get("tiers", []):
        why = evidence.get("tiers", {}).get(str(tier["memoryGB"]), {})
        tiers.append({**tier, "evidence": why})
    return {
        "path": str(path),
        "version": data.get("version"),
        "updatedAt": data.get("updatedAt"),
        "digest": data.get("digest"),
        "signed": bool(data.get("signature")),
        "tiers": tiers,
        "bestPresets": evidence.get("best_presets", {}),
        "update": data.get("update"),
        "changelog": data.get("changelog"),
    }
