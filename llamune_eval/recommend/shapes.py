"""A recommended-settings file as `recommend` writes it: the specification's fields plus the typed evidence
(`settings_evidence`), which is what the published JSON Schema (`recommended/schema.json`) describes."""

from __future__ import annotations

from llamune_eval.settings import RecommendedSettings
from llamune_eval.settings_evidence import EvidenceShape


class PublishedSettings(RecommendedSettings):
    """A recommended file as `recommend` writes it: the specification's fields plus typed evidence (an older
    release's file may carry evidence of another shape, which the chat runtime never reads)."""

    evidence: EvidenceShape

    def data(self) -> dict[str, object]:
        """The file's content as JSON-ready data: camelCase names, and only the fields that were given (a field
        `recommend` leaves out, such as a preview's missing `update`, stays out, never null)."""
        return self.model_dump(by_alias=True, exclude_unset=True)
