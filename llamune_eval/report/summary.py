"""The report's first section: the quarter's settings per tier and the evidence behind each choice, read from the
sealed settings file (its digest is checked, so the report never shows a file the chat would refuse). Without a
published file the quarter's preview is shown, marked as one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from llamune_eval import jsonio
from llamune_eval.settings import load_recommended, published_files, quarter_of
from llamune_eval.types import InputError


def _files(folder: Path, quarter: str) -> list[Path]:
    """This quarter's published file (its newest revision), else its preview."""
    published = [p for p in published_files(folder) if quarter_of(p.stem) == quarter] if folder.is_dir() else []
    preview = folder / f"{quarter}.preview.json"
    return published[:1] or ([preview] if preview.is_file() else [])


def _read(path: Path) -> dict[str, Any]:
    """The file through the chat runtime's own check (a preview allowed: the report shows it as one)."""
    load_recommended(path, allow_preview=True)
    data: dict[str, Any] = jsonio.loads(path.read_bytes())
    return data


def summary_section(folder: Path, quarter: str) -> dict[str, Any]:
    found = _files(folder, quarter)
    if not found:
        path = folder / f"{quarter}.json"
        return {"path": str(path), "error": f"{path} がありません（`llamune-eval recommend --quarter {quarter}`）"}
    path = found[0]
    try:
        data = _read(path)
    except InputError as exc:
        return {"path": str(path), "error": str(exc)}
    evidence = data.get("evidence", {})
    by_gb = {t.get("memoryGB"): t for t in evidence.get("tiers", []) if isinstance(t, dict)}
    tiers = [{**tier, "evidence": by_gb.get(tier["memoryGB"], {})} for tier in data.get("tiers", [])]
    return {
        "path": str(path),
        "version": data.get("version"),
        "preview": bool(data.get("preview")),
        "updatedAt": data.get("updatedAt"),
        "digest": data.get("digest"),
        "signed": bool(data.get("signature")),
        "tiers": tiers,
        "rule": evidence.get("rule", {}),
        "countedSuites": evidence.get("countedSuites", []),
        "notCounted": evidence.get("notCounted", []),
        "publishable": evidence.get("publishable", True),
        "thinSuites": evidence.get("thinSuites", []),
        "usageEvidence": evidence.get("usage"),
        "bestPresets": evidence.get("bestPresets", {}),
        "update": data.get("update"),
        "changelog": data.get("changelog"),
    }
