"""The sample browser's data: each item once (prompt, reference) and every configuration's answer to it, as
compact arrays so that a report over tens of thousands of samples stays a few megabytes."""

from __future__ import annotations

from typing import Any

from llamune_eval.analysis import Evidence
from llamune_eval.report.document import Browser, BrowserAnswer, BrowserItem
from llamune_eval.report.samples import text_of

VERDICT_CODE = {"right": "r", "wrong": "w", "error": "e", "pending": "p"}


def browser_section(ev: Evidence) -> Browser:
    """items: [suite index, item id, repeat, prompt, reference, eval aspect];
    answers: [item index, config index, verdict (r/w/e/p), value, answer, parsed, error]."""
    suites: dict[str, int] = {}
    configs: dict[str, int] = {}
    items: dict[tuple[str, str, int], int] = {}
    item_rows: list[BrowserItem] = []
    answers: list[BrowserAnswer] = []
    for r in ev.rows:
        s = suites.setdefault(r.suite, len(suites))
        c = configs.setdefault(f"{r.model}:{r.preset}", len(configs))
        key = (r.suite, r.item_id, r.repeat)
        if key not in items:
            items[key] = len(item_rows)
            item_rows.append((s, r.item_id, r.repeat, text_of(r.prompt), text_of(r.reference), r.eval_aspect or ""))
        value = ev.value(r) if r.ok else None
        answers.append(
            (
                items[key],
                c,
                VERDICT_CODE[ev.verdict(r)],
                None if value is None else round(value, 4),
                text_of(r.output),
                r.parsed or "",
                r.error or "",
            )
        )
    return Browser(suites=list(suites), configs=list(configs), items=item_rows, answers=answers)


def verdicts(browser: Browser) -> dict[tuple[str, str, int, str], tuple[str, str]]:
    """(suite, item, repeat, config) -> (verdict code, answer) from a browser section (this or an older report)."""
    suites, configs, items = browser.suites, browser.configs, browser.items
    out = {}
    for item_index, config_index, code, _value, answer, *_ in browser.answers:
        item = items[item_index]
        out[(suites[item[0]], str(item[1]), int(item[2]), configs[config_index])] = (code, answer)
    return out


def truncated(browser: dict[str, Any], limit: int) -> dict[str, Any]:
    """A copy whose long texts are cut to `limit` characters with a note (the JSON export keeps them whole)."""

    def cut(text: str) -> str:
        if len(text) <= limit:
            return text
        return text[:limit] + f"\n…（以下 {len(text) - limit:,} 文字省略。全文は report.json）"

    items = [[*i[:3], cut(i[3]), cut(i[4]), i[5]] for i in browser["items"]]
    answers = [[*a[:4], cut(a[4]), cut(a[5]), a[6]] for a in browser["answers"]]
    return {**browser, "items": items, "answers": answers}
