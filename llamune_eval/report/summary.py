"""The report's first section: the quarter's settings per tier and the evidence behind each choice, read from the
sealed settings file (its digest is checked, so the report never shows a file the chat would refuse). Without a
published file the quarter's preview is shown, marked as one."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

from pydantic import ValidationError

from llamune_eval import jsonio
from llamune_eval.report.summary_shapes import (
    MeasurementView,
    NotCountedView,
    RuleView,
    Summary,
    ThinSuiteView,
    TierEvidenceView,
    TierView,
    UsageView,
    View,
)
from llamune_eval.settings import RecommendedSettings, load_recommended, preview_file, published_for
from llamune_eval.types import InputError

V = TypeVar("V", bound=View)


def _files(folder: Path, quarter: str) -> list[Path]:
    """This quarter's published file (its newest revision), else its preview."""
    published = published_for(folder, quarter)
    preview = preview_file(folder, quarter)
    return published[:1] or ([preview] if preview.is_file() else [])


def _read(path: Path) -> tuple[RecommendedSettings, dict[str, Any]]:
    """The file through the chat runtime's own check (a preview allowed: the report shows it as one), and as
    written (the evidence, which the runtime does not read)."""
    settings = load_recommended(path, allow_preview=True)
    data: dict[str, Any] = jsonio.loads(path.read_bytes())
    return settings, data


def _items(raw: Any) -> list[Any]:
    return raw if isinstance(raw, list) else []


def _valid(shape: type[V], raw: Any) -> V | None:
    """`raw` read as `shape`, or None when it does not fit: an evidence part this report cannot read (an older
    release's shape) is left out, never a failed report."""
    try:
        return shape.model_validate(raw) if isinstance(raw, dict) else None
    except ValidationError:
        return None


def _tier_evidence(evidence: dict[str, Any]) -> dict[Any, Any]:
    """Each tier's evidence by GB: a list of tiers now, a dict keyed by GB in older files."""
    tiers = evidence.get("tiers")
    if isinstance(tiers, dict):
        return {int(gb): t for gb, t in tiers.items() if str(gb).isdigit()}
    return {t.get("memoryGB"): t for t in _items(tiers) if isinstance(t, dict)}


def _best_presets(raw: Any) -> dict[str, dict[str, str]]:
    """model -> task category -> preset."""
    if not isinstance(raw, dict):
        return {}
    return {str(m): {str(c): str(p) for c, p in cats.items()} for m, cats in raw.items() if isinstance(cats, dict)}


def summary_section(folder: Path, quarter: str) -> dict[str, Any]:
    """The section with every key the template reads present; `error` says why there is no settings file to show."""
    found = _files(folder, quarter)
    if not found:
        path = folder / f"{quarter}.json"
        missing = f"{path} がありません（`llamune-eval recommend --quarter {quarter}`）"
        return Summary(path=str(path), error=missing).view()
    path = found[0]
    try:
        settings, data = _read(path)
    except InputError as exc:
        return Summary(path=str(path), error=str(exc)).view()
    evidence = data.get("evidence") or {}
    by_gb = _tier_evidence(evidence)
    tiers = [
        TierView.model_validate(
            {**tier, "evidence": _valid(TierEvidenceView, by_gb.get(tier["memoryGB"])) or TierEvidenceView()}
        )
        for tier in data.get("tiers", [])
    ]
    return Summary(
        path=str(path),
        version=settings.version,
        preview=settings.preview,
        updatedAt=settings.updated_at,
        digest=settings.digest,
        signed=bool(data.get("signature")),
        tiers=tiers,
        rule=_valid(RuleView, evidence.get("rule")) or RuleView(),
        countedSuites=[str(s) for s in _items(evidence.get("countedSuites"))],
        notCounted=[n for n in (_valid(NotCountedView, x) for x in _items(evidence.get("notCounted"))) if n],
        publishable=evidence.get("publishable") is not False,
        thinSuites=[t for t in (_valid(ThinSuiteView, x) for x in _items(evidence.get("thinSuites"))) if t],
        usageEvidence=_valid(UsageView, evidence.get("usage")),
        bestPresets=_best_presets(evidence.get("bestPresets")),
        measurement=_valid(MeasurementView, evidence.get("measurement")),
        update=settings.update.model_dump(by_alias=True, mode="json") if settings.update else None,
        changelog=settings.changelog,
    ).view()
