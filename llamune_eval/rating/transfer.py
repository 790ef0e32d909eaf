"""Ratings in and out of a store as CSV: another store's export (every `HumanRating` field, one header row), and
the older form `sample_key,rating` (1-5, one rater named after the file), which `[judge] human_ratings` names.

A line that cannot be read stops the import with its file and line; answers this store does not hold are
skipped and counted (an export from another store holds the other store's answers too).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

from llamune_eval.records import HumanRating, fields, rating_key
from llamune_eval.store import ratings
from llamune_eval.types import InputError

if TYPE_CHECKING:
    from llamune_eval.store.results import Store

LEGACY = ("sample_key", "rating")  # the CSV `[judge] human_ratings` has always read: 1-5


@dataclass(frozen=True)
class Read:
    ratings: list[HumanRating]
    unknown: int  # rows about answers this store does not hold


def export(ratings: list[HumanRating], path: Path) -> None:
    """Every field of every rating, a header row first (what `read` imports)."""
    columns = fields(HumanRating)
    with path.open("w", encoding="utf-8", newline="") as f:
        out = csv.writer(f)
        out.writerow(columns)
        for r in ratings:
            out.writerow(["" if getattr(r, c) is None else _cell(getattr(r, c)) for c in columns])


def _cell(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def read(path: Path, store: Store) -> Read:
    """The ratings in a CSV (either form), for the answers `store` holds."""
    try:
        with path.open(encoding="utf-8", newline="") as f:
            rows = list(csv.DictReader(f))
            header = tuple(rows[0].keys()) if rows else ()
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"{path}: cannot read the ratings: {exc}") from exc
    answers = ratings.answers(store)
    legacy = "rater" not in header
    if legacy and rows and not set(LEGACY) <= set(header):
        raise InputError(f"{path}: expected the columns sample_key,rating (1-5) or an export of `llamune-eval rate`")
    out, unknown = [], 0
    for line, row in enumerate(rows, start=2):
        key = (row.get("sample_key") or "").strip()
        if key not in answers:
            unknown += 1
            continue
        try:
            out.append(_legacy(row, path, answers[key]) if legacy else _exported(row))
        except (ValidationError, ValueError) as exc:
            first = str(exc).splitlines()[0] if not isinstance(exc, ValidationError) else _first(exc)
            raise InputError(f"{path}:{line}: {first}") from exc
    return Read(out, unknown)


def _first(exc: ValidationError) -> str:
    e = exc.errors()[0]
    return f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"


def _legacy(row: dict[str, str], path: Path, answer: tuple[str, str]) -> HumanRating:
    rating = int(row["rating"])
    if not 1 <= rating <= 5:
        raise ValueError(f"rating {rating} is not 1-5")
    rater = f"csv:{path.name}"
    return HumanRating(
        key=rating_key(rater, row["sample_key"]),
        sample_key=row["sample_key"],
        suite=answer[0],
        item_id=answer[1],
        rater=rater,
        score=rating,
        scale=5,
        source=str(path),
        created_at=datetime.fromtimestamp(path.stat().st_mtime, UTC).replace(tzinfo=None),
    )


def _exported(row: dict[str, str]) -> HumanRating:
    values: dict[str, object] = {k: (v if v != "" else None) for k, v in row.items() if k in fields(HumanRating)}
    values["shared"] = values.get("shared") == "True"
    rating = HumanRating.model_validate(values)
    if rating.score is not None and rating.scale is not None and rating.score > rating.scale:
        raise ValueError(f"score {rating.score} is above its scale {rating.scale}")
    return rating


def configured_ratings(path: Path | None, store: Store) -> list[HumanRating]:
    """`[judge] human_ratings`, read where the judge is checked (never written into the store)."""
    return read(path, store).ratings if path is not None else []
