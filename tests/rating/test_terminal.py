"""The rating flow, driven by a scripted reader: what the rater is shown (and not shown), what is stored, quitting
and resuming, and input that is not a rating."""

from __future__ import annotations

import json
from collections.abc import Iterator

from llamune_eval.rating.queue import Planned
from llamune_eval.rating.terminal import session
from llamune_eval.records import HumanRating
from tests.recommend._synthetic import row


def _queue() -> list[Planned]:
    return [Planned(row("secret-model", "secret-preset", "writing", i, kind="inhouse"), 10, i == 0) for i in range(3)]


TEXTS = {
    p.row.key: (json.dumps([f"質問{i}"], ensure_ascii=False), json.dumps([f"回答{i}"], ensure_ascii=False),
                json.dumps("模範解答", ensure_ascii=False), "敬語が正しいか")
    for i, p in enumerate(_queue())
}  # fmt: skip


class Script:
    def __init__(self, lines: list[str]) -> None:
        self.lines: Iterator[str] = iter(lines)
        self.prompts: list[str] = []
        self.shown: list[str] = []

    async def read(self, prompt: str) -> str | None:
        self.prompts.append(prompt)
        return next(self.lines, None)

    def say(self, text: str) -> None:
        self.shown.append(text)


async def test_ratings_are_stored_as_given_and_a_quit_resumes_where_it_stopped() -> None:
    saved: list[HumanRating] = []
    script = Script(["5", "", "４", "9", "q"])  # the first answer: accuracy 5, skip, full-width 4, overall 9
    out = await session(_queue(), set(), TEXTS, "sato", script.read, script.say, saved.append)
    assert (out.rated, out.done, out.total, out.quit) == (1, 1, 3, True)
    first = saved[0]
    assert (first.accuracy, first.naturalness, first.usefulness, first.score, first.scale) == (5, None, 4, 9, 10)
    assert first.rater == "sato" and first.shared and first.sample_key == _queue()[0].row.key
    shown = "\n".join(script.shown)
    assert "質問0" in shown and "回答0" in shown and "模範解答" in shown and "敬語が正しいか" in shown
    assert "secret-model" not in shown and "secret-preset" not in shown  # blind
    assert "1/3" in shown and "中断しました。1/3 件を評価済み" in shown
    assert script.prompts[0].startswith("回答の正確性（1〜5") and script.prompts[3].startswith("総合評価（1〜10")
    # the second session shows only what is left
    again = Script(["1", "1", "1", "2", "", "", "", "10"])
    out = await session(_queue(), {first.sample_key}, TEXTS, "sato", again.read, again.say, saved.append)
    assert (out.rated, out.done, out.quit) == (2, 3, False)
    assert [r.score for r in saved] == [9, 2, 10] and len({r.sample_key for r in saved}) == 3
    assert "回答0" not in "\n".join(again.shown) and "3 件すべて評価しました" in again.shown[-1]


async def test_a_value_off_the_scale_is_asked_again() -> None:
    saved: list[HumanRating] = []
    script = Script(["6", "abc", "3", "", "", "11", "0", "7", "q"])
    await session(_queue()[:1], set(), TEXTS, "sato", script.read, script.say, saved.append)
    assert saved[0].accuracy == 3 and saved[0].score == 7
    assert sum("1〜5 の数字" in s for s in script.shown) == 2 and sum("1〜10 の数字" in s for s in script.shown) == 2


async def test_the_end_of_input_stops_like_q() -> None:
    saved: list[HumanRating] = []
    script = Script(["3"])
    out = await session(_queue(), set(), TEXTS, "sato", script.read, script.say, saved.append)
    assert out.quit and saved == []
