"""Sealing and publishing the quarter's file.

The file is validated against `recommended/schema.json` (written beside it), then sealed with the sha256 digest of
its canonical JSON and, with a signing key, an Ed25519 signature over the same bytes. A published quarter is never
rewritten: the same decision again leaves the file as it is, a different one is refused unless `revise` publishes
it as the next revision (`2027-Q1.2`). A preview (`2027-Q1.preview.json`) may be replaced at will and is never
applied by `llamune`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llamune_eval import jsonio
from llamune_eval.quarters import quarter_of, version_key
from llamune_eval.recommend.shapes import PublishedSettings
from llamune_eval.settings import canonical, digest_of, load_recommended, load_signing_key, preview_file, published_for
from llamune_eval.types import InputError

if TYPE_CHECKING:
    from llamune_eval.analysis import Evidence
    from llamune_eval.config import Config
    from llamune_eval.store.results import Store
    from llamune_eval.types import ModelInfo

SCHEMA_URL = "https://json-schema.org/draft/2020-12/schema"
DECISION_KEYS = ("models", "executionOrder", "concurrentLimit", "tiers")  # what a revision must change


class PublishedError(InputError):
    """The quarter is already published with another decision."""


def json_schema() -> dict[str, Any]:
    schema = PublishedSettings.model_json_schema(by_alias=True)
    return {"$schema": SCHEMA_URL, "title": "llamune RecommendedSettings", **schema}


def seal(data: dict[str, Any], signing_key: Path | None) -> dict[str, Any]:
    """Validate against the schema, then add the digest (and the signature over the same canonical bytes)."""
    import jsonschema

    data = jsonio.clean(data)
    jsonschema.Draft202012Validator(json_schema()).validate(data)
    PublishedSettings.model_validate(data)
    sealed = dict(data)
    sealed["digest"] = digest_of(sealed)
    if signing_key is not None:
        sealed["signature"] = load_signing_key(signing_key).sign(canonical(sealed)).hex()
    return sealed


def _decision(data: dict[str, Any]) -> str:
    """What a revision must change: the models, their order, parameters and concurrency (not dates or evidence)."""
    raw = jsonio.clean(data)
    return jsonio.dumps({k: raw.get(k) for k in DECISION_KEYS}, sort_keys=True)


def _atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def publish(out_dir: Path, data: dict[str, Any], signing_key: Path | None, *, revise: bool = False) -> tuple[Path, str]:
    """Write the quarter's file; returns the path and what happened: preview, published, revised or unchanged."""
    out_dir.mkdir(parents=True, exist_ok=True)
    _atomic(out_dir / "schema.json", jsonio.dumps(json_schema(), indent=2))
    quarter = quarter_of(data["version"])
    if data.get("preview"):
        path = preview_file(out_dir, quarter)
        _atomic(path, jsonio.dumps(seal(data, signing_key), indent=2, sort_keys=True))
        return path, "preview"
    earlier = published_for(out_dir, quarter)
    status = "published"
    if earlier:
        newest = earlier[0]
        try:
            current = load_recommended(newest)
        except InputError as exc:
            raise PublishedError(
                f"{exc}; a published file is never overwritten: move it aside to publish {quarter} again"
            ) from exc
        if _decision(jsonio.loads(newest.read_bytes())) == _decision(data):
            return newest, "unchanged"
        if not revise:
            raise PublishedError(
                f"{newest} is already published ({current.digest and current.digest[:19]}…, {current.updated_at}) "
                f"and this decision differs; a published quarter is never rewritten: `--revise` publishes it as "
                f"{quarter}.{_next_revision(earlier)}"
            )
        version = f"{quarter}.{_next_revision(earlier)}"
        data = dict(data, version=version)
        if data.get("update"):
            data["update"] = dict(data["update"], newVersion=version)
        status = "revised"
    path = out_dir / f"{data['version']}.json"
    _atomic(path, jsonio.dumps(seal(data, signing_key), indent=2, sort_keys=True))
    return path, status


def _next_revision(earlier: list[Path]) -> int:
    return max(version_key(p.stem)[2] for p in earlier) + 1


def decide_and_publish(
    cfg: Config,
    store: Store,
    quarter: str,
    listed: list[ModelInfo],
    out: Path,
    *,
    preview: bool | None,
    revise: bool,
    ev: Evidence | None = None,
) -> tuple[dict[str, Any], Path, str]:
    """build → seal → publish: the one path the `recommend` command and the quarter's run share (`ev`: evidence
    already read, which the run shares with its report)."""
    from llamune_eval.recommend.quarterly import build

    data = build(store, cfg, quarter, listed, out, preview=preview, ev=ev)
    path, status = publish(out, data, cfg.recommend.signing_key, revise=revise)
    return data, path, status
