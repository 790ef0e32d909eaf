"""`llamune-eval rate` at the terminal: one answer at a time, blind, with the chat's line editor.

Per answer: the question (every turn), the answer, the item's reference and eval aspect where it has them; then
the specification's three criteria (1-5) and the overall rating on the judge's scale. Enter skips a question;
`q` stops, keeping every answer rated so far (each is stored the moment its last question is answered), and the
next `rate` continues with the rest.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from llamune_eval.rating.queue import Planned
from llamune_eval.records import RATING_CRITERIA, HumanRating, rating_key

Read = Callable[[str], Awaitable[str | None]]  # a prompt -> the line typed (None: end of input)
Save = Callable[[HumanRating], None]
QUIT = "q"
RULE = "━" * 40


class Quit(Exception):
    """The rater typed q (or ended the input)."""


@dataclass(frozen=True)
class Outcome:
    rated: int  # answers rated in this session
    done: int  # of the queue, rated now or before
    total: int
    quit: bool


def _turns(raw: str | None) -> list[str]:
    if not raw:
        return []
    try:
        value = json.loads(raw)
    except ValueError:
        return [raw]
    if isinstance(value, list):
        return [v if isinstance(v, str) else json.dumps(v, ensure_ascii=False) for v in value]
    return [value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)]


def show(planned: Planned, texts: tuple[str | None, str | None, str | None, str | None], place: str) -> str:
    """What the rater reads: the item and the answer, never the model, preset or judge score."""
    prompt, output, reference, aspect = texts
    questions, answers = _turns(prompt), _turns(output)
    head = f"{RULE}\n{place} · {planned.row.suite} · 問題 {planned.row.item_id}"
    lines = [head + ("（全員共通）" if planned.shared else "")]
    for i in range(max(len(questions), len(answers))):
        label = f"（{i + 1}ターン目）" if max(len(questions), len(answers)) > 1 else ""
        if i < len(questions):
            lines += [f"【質問{label}】", questions[i]]
        if i < len(answers):
            lines += [f"【回答{label}】", answers[i]]
    if reference:
        lines += ["【参考回答】", "\n".join(_turns(reference))]
    if aspect:
        lines += ["【評価の観点】", aspect]
    return "\n".join(lines)


async def ask(read: Read, say: Callable[[str], None], label: str, top: int) -> int | None:
    """A rating of 1..top; None when skipped (Enter). Raises Quit on q or the end of input."""
    while True:
        line = await read(f"{label}（1〜{top}、Enter で省略、q で中断）> ")
        if line is None or line.strip().lower() == QUIT:
            raise Quit
        text = line.strip().translate(str.maketrans("０１２３４５６７８９", "0123456789"))  # full-width digits
        if not text:
            return None
        if text.isdigit() and 1 <= int(text) <= top:
            return int(text)
        say(f"1〜{top} の数字、Enter（省略）または q（中断）を入力してください。")


async def rate_one(planned: Planned, rater: str, read: Read, say: Callable[[str], None]) -> HumanRating:
    criteria = {name: await ask(read, say, label, 5) for name, label in RATING_CRITERIA.items()}
    score = await ask(read, say, "総合評価", planned.scale)
    return HumanRating(
        key=rating_key(rater, planned.row.key),
        sample_key=planned.row.key,
        suite=planned.row.suite,
        item_id=planned.row.item_id,
        rater=rater,
        score=score,
        scale=planned.scale,
        shared=planned.shared,
        created_at=datetime.now(UTC).replace(tzinfo=None),
        **criteria,
    )


async def session(
    queue: list[Planned],
    rated: set[str],
    texts: dict[str, tuple[str | None, str | None, str | None, str | None]],
    rater: str,
    read: Read,
    say: Callable[[str], None],
    save: Save,
) -> Outcome:
    """Rate the queue's answers not yet in `rated`, saving each as it is finished."""
    total, done, now = len(queue), sum(1 for p in queue if p.row.key in rated), 0
    for planned in queue:
        if planned.row.key in rated:
            continue
        say(show(planned, texts.get(planned.row.key, (None, None, None, None)), f"{done + 1}/{total}"))
        try:
            rating = await rate_one(planned, rater, read, say)
        except Quit:
            say(f"中断しました。{done}/{total} 件を評価済みです。もう一度 `llamune-eval rate` で続きから再開します。")
            return Outcome(now, done, total, True)
        save(rating)
        done, now = done + 1, now + 1
        say(f"保存しました（{done}/{total}）。")
    say(f"{total} 件すべて評価しました。ジャッジとの一致はレポートの「ジャッジの検証」に出ます。")
    return Outcome(now, done, total, False)
