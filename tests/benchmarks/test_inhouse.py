"""In-house suites: every deterministic scorer, judge items held for the judge, public layouts as they are."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llamune_eval.benchmarks import Observed
from llamune_eval.benchmarks.inhouse import load


def _suite(tmp_path: Path, rows: list[dict], name: str = "items.jsonl"):  # type: ignore[no-untyped-def]
    path = tmp_path / name
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    return load(str(path))


@pytest.mark.parametrize(
    ("row", "answer", "passed"),
    [
        ({"scoring": "exact", "reference": "42"}, "４２", 1.0),
        ({"scoring": "exact", "reference": "42"}, "答え：42。", 1.0),
        ({"scoring": "exact", "reference": "42"}, "about 42", 0.0),
        ({"scoring": "contains", "reference": ["東京", "2024年"]}, "東京で2024年に開催", 1.0),
        ({"scoring": "contains", "reference": ["東京", "2024年"]}, "東京で開催", 0.0),
        ({"scoring": "regex", "pattern": r"\d{3}-\d{4}"}, "〒100-0001 です", 1.0),
        ({"scoring": "regex", "pattern": r"\d{3}-\d{4}"}, "わかりません", 0.0),
        ({"scoring": "choice", "choices": ["赤", "青", "緑"], "reference": "青"}, "B", 1.0),
        ({"scoring": "choice", "choices": ["赤", "青", "緑"], "reference": "青"}, "答えは青です", 1.0),
        ({"scoring": "choice", "choices": ["赤", "青", "緑"], "reference": "青"}, "赤", 0.0),
        ({"scoring": "json"}, 'はい:\n```json\n{"a": 1}\n```', 1.0),
        ({"scoring": "json"}, "no json here", 0.0),
        (
            {
                "scoring": "json_schema",
                "schema": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}},
            },
            '{"name": "山田"}',
            1.0,
        ),
        ({"scoring": "json_schema", "schema": {"type": "object", "required": ["name"]}}, '{"nom": 1}', 0.0),
    ],
)
def test_deterministic_scorers(tmp_path: Path, row: dict, answer: str, passed: float) -> None:
    suite = _suite(tmp_path, [{"id": "1", "input": "q", **row}])
    score = suite.task.score(suite.items[0], [answer])
    assert score.values["pass"] == passed


def test_judge_items_wait_then_count_by_the_judges_share(tmp_path: Path) -> None:
    suite = _suite(
        tmp_path, [{"id": "1", "input": "q"}, {"id": "2", "input": "q", "scoring": "exact", "reference": "a"}]
    )
    scores = [suite.task.score(i, ["a"]) for i in suite.items]
    assert scores[0].pending_judge and not scores[1].pending_judge
    waiting = [Observed(s.values, pending=s.pending_judge) for s in scores]
    head = suite.task.headline(waiting)
    assert (head.metric, head.value) == ("judge", 1.0)  # the judged item waits: only the passed one counts
    judged = [Observed({"judge": 0.4}, pending=True), waiting[1]]
    assert suite.task.headline(judged).value == pytest.approx(0.7)  # a judged answer counts by its share
    assert [suite.task.right(suite.task.value(o) or 0) for o in judged] == [False, True]  # right: 60% of the scale
    failed = Observed({}, ok=False, pending=False)
    assert suite.task.value(failed) == 0.0  # an answer that failed counts at the floor, never as absent


def test_elyza_tasks_100_layout(tmp_path: Path) -> None:
    suite = _suite(tmp_path, [{"input": "仕事の熱意を取り戻すためのアイデアを5つ挙げてください。", "output": "1. ...",
                               "eval_aspect": "- 5つ挙げていない場合: -1点"}], "test.jsonl")  # fmt: skip
    [item] = suite.items
    assert item.scoring == "judge" and item.reference == "1. ..." and item.eval_aspect.startswith("- 5つ")
    assert suite.name == tmp_path.name


def test_japanese_mt_bench_layout(tmp_path: Path) -> None:
    suite = _suite(tmp_path, [{"question_id": 81, "category": "writing", "turns": ["旅行記を書いてください。",
                               "すべての文を「あ」で始めて書き直してください。"]}], "question.jsonl")  # fmt: skip
    [item] = suite.items
    assert item.id == "81" and len(item.turns) == 2 and item.scoring == "judge"
    assert item.meta["category"] == "writing"
    messages = suite.messages(item, ["最初の回答"])
    assert [m.role for m in messages] == ["user", "assistant", "user"]
