"""The report's account of a raced quarter: configurations stopped once the decision no longer needed them, so
their figures rest on fewer items than the full order; the reader needs how many, and why each one stopped."""

from __future__ import annotations

from llamune_eval.report.document import RaceConfig, RaceSection
from llamune_eval.store.races import RaceRow, full_run

REASONS = {
    "settled-worse": "他の構成に劣ると確定（{by}）",
    "cannot-replace": "現行（{by}）を置き換えられないと確定",
    "settled-best": "最後まで残った（決定に必要な最小設問数まで回答）",
    "complete": "全設問に回答",
    "budget": "予算で打ち切り",
    "fits-no-tier": "どのティアのメモリにも収まらない（または不明）ため回答せず",
}


def reason_label(row: RaceRow) -> str:
    """Why the configuration stopped, in the report's words (a reason this release does not know: as stored)."""
    label = REASONS.get(row.reason, row.reason)
    return label.format(by=row.by or "-")


def race_section(rows: list[RaceRow]) -> RaceSection | None:
    """The quarter's race (`Evidence.races`; None: not raced): what it spent against a full run of the raced
    configurations (every item of the order each), and per configuration the items it answered and why it stopped."""
    if not rows:
        return None
    full = full_run(rows)
    spent = rows[0].spent
    return RaceSection(
        seed=rows[0].seed,
        budget=rows[0].budget,
        spent=spent,
        full=full,
        ratio=spent / full if full else None,
        configs=[
            RaceConfig(
                config=f"{r.model}:{r.preset}",
                model=r.model,
                preset=r.preset,
                reason=r.reason,
                label=reason_label(r),
                items=r.items,
                total=r.total,
                share=r.items / r.total if r.total else None,
                by=r.by,
            )
            for r in rows
        ],
    )
