"""The two scoring profiles on tricky answers, benchmark by benchmark (README: "Scoring profiles").

Every expected value is derived by hand from the written definitions: strict reads the first non-empty line and
accepts the label itself after JGLUE's normalisation (NFKC, lower-case, whitespace removed, trailing 「。」
stripped); lenient finds the one label in the text; an ambiguous answer is a parse failure under both.
"""

from __future__ import annotations

import pytest

from llamune_eval.benchmarks import Item
from llamune_eval.benchmarks.jcommonsenseqa import JCommonsenseQA, lenient_index, strict_index
from llamune_eval.benchmarks.jnli import lenient_label, strict_label
from llamune_eval.benchmarks.jsquad import JSQuAD
from llamune_eval.benchmarks.jsts import JSTS, lenient_number, strict_number

PC = ["掲示板", "パソコン", "マザーボード", "ハードディスク", "まな板"]
DAYS = ["1日", "2日", "3日", "4日", "5日"]
COUNTS = ["0個", "1個", "2個", "3個", "4個"]

JCQA = [  # (answer, choices, strict index, lenient index)
    ("2", PC, 2, 2),
    ("２", PC, 2, 2),
    (" 2 ", PC, 2, 2),
    ("2\n理由：パソコンの部品だから", PC, 2, 2),
    ("2。", PC, 2, 2),
    ("2.", PC, None, 2),
    ("答え：2", PC, None, 2),
    ("答えは2です", PC, None, 2),
    ("(2)", PC, None, 2),
    ("「2」", PC, None, 2),
    ("2. マザーボード", PC, None, 2),
    ("マザーボード", PC, None, 2),
    ("マザーボードです", PC, None, 2),
    ("ﾏｻﾞｰﾎﾞｰﾄﾞ", PC, None, 2),
    ("12", PC, None, None),
    ("5", PC, None, None),
    ("", PC, None, None),
    ("わかりません", PC, None, None),
    ("2ではなく3", PC, None, None),
    ("The answer is 2.", PC, None, 2),
    ("Answer: 2", PC, None, 2),
    ("２番", PC, None, 2),
    ("選択肢2", PC, None, 2),
    ("2\n\n3", PC, 2, None),
    ("\n\n2", PC, 2, 2),
    ("2 (マザーボード)", PC, None, 2),
    ("パソコンとマザーボード", PC, None, None),
    ("まな板", PC, None, 4),
    ("0", PC, 0, 0),
    ("4", PC, 4, 4),
    ("-1", PC, None, None),
    ("2.0", PC, None, None),
    ("two", PC, None, None),
    ("Ｂ", PC, None, None),
    ("2 2", PC, None, 2),
    ("2\u3000", PC, 2, 2),
    ("**2**", PC, None, 2),
    ("`2`", PC, None, 2),
    ("3日", DAYS, None, 2),
    ("3", DAYS, None, None),
    ("2", DAYS, None, None),
    ("答えは3日です", DAYS, None, 2),
    ("0", DAYS, 0, 0),
    ("３日", DAYS, None, 2),
    ("2", COUNTS, 2, 2),
    ("2個", COUNTS, None, 2),
]


@pytest.mark.parametrize(("answer", "choices", "strict", "lenient"), JCQA)
def test_jcommonsenseqa_profiles(answer: str, choices: list[str], strict: int | None, lenient: int | None) -> None:
    assert strict_index(answer, choices) == strict
    assert lenient_index(answer, choices) == lenient


def test_jcommonsenseqa_score_stores_both_profiles() -> None:
    item = Item(id="q", turns=["…"], reference=2, meta={"choices": DAYS})
    score = JCommonsenseQA().score(item, ["3日"])  # the text of choice 2: right only under lenient
    assert (score.values, score.parse_ok) == ({"correct": 0.0}, False)
    assert score.stored() == {"correct": 0.0, "lenient.correct": 1.0, "lenient.parse_ok": 1.0}


E, C, N = "entailment", "contradiction", "neutral"
JNLI = [  # (answer, strict label, lenient label)
    ("entailment", E, E),
    ("Entailment", E, E),
    ("ENTAILMENT", E, E),
    (" contradiction ", C, C),
    ("neutral。", N, N),
    ("neutral.", None, N),
    ("ｅｎｔａｉｌｍｅｎｔ", E, E),
    ("entailment\n理由：前提から言える", E, E),
    ("答え：entailment", None, E),
    ("関係：neutral", None, N),
    ("含意", None, E),
    ("矛盾", None, C),
    ("中立", None, N),
    ("矛盾しない", None, None),
    ("矛盾しません", None, None),
    ("矛盾ではない", None, None),
    ("not entailment", None, None),
    ("Not entailment.", None, None),
    ("neutral (not entailment)", None, N),
    ("entailment or neutral", None, None),
    ("これは矛盾です", None, C),
    ("contradiction（矛盾）", None, C),
    ("non-contradiction", None, None),
    ("無矛盾", None, None),
    ("わかりません", None, None),
    ("", None, None),
    ("entail", None, None),
    ("entailment\n\ncontradiction", E, None),
    ("\nneutral", N, N),
    ("「neutral」", None, N),
    ("**contradiction**", None, C),
    ("Contradiction", C, C),
    ("neutral\u3000", N, N),
    ("中立ではない", None, None),
    ("含意しない", None, None),
    ("entailment。", E, E),
    ("前提から仮説が言えるので entailment", None, E),
    ("neutral です", None, N),
    ("contradiction is not the answer; neutral", None, N),
    ("entailmentではなくneutral", None, N),
    ("neutral neutral", None, N),
    ("非中立", None, None),
]


@pytest.mark.parametrize(("answer", "strict", "lenient"), JNLI)
def test_jnli_profiles(answer: str, strict: str | None, lenient: str | None) -> None:
    assert strict_label(answer) == strict
    assert lenient_label(answer) == lenient


JSTS_CASES = [  # (answer, strict prediction, lenient prediction); None is a parse failure, predicted at the floor
    ("4.2", 4.2, 4.2),
    ("４．２", 4.2, 4.2),
    ("4", 4.0, 4.0),
    ("4.0", 4.0, 4.0),
    ("0", 0.0, 0.0),
    ("5.0", 5.0, 5.0),
    (" 3.5 ", 3.5, 3.5),
    ("3.5。", 3.5, 3.5),
    ("3.5.", 3.5, 3.5),
    ("3.5\n理由：ほぼ同じ", 3.5, 3.5),
    ("類似度：3.5", None, 3.5),
    ("類似度は4.2です", None, 4.2),
    ("文1と文2の類似度は4.2", None, 4.2),
    ("5.0点中3.5点", None, 3.5),
    ("5点満点中3点", None, 3.0),
    ("3.5/5", None, 3.5),
    ("3.5 / 5.0", None, 3.5),
    ("わかりません", None, None),
    ("", None, None),
    ("7", None, None),
    ("5.5", None, None),
    ("-1", None, None),
    ("3か4", None, None),
    ("3〜4", None, None),
    ("0.0〜5.0のうち3.2", None, 3.2),
    ("5段階で4", None, 4.0),
    ("4.2（5段階評価）", None, 4.2),
    ("約3.5", None, 3.5),
    ("3.50", 3.5, 3.5),
    ("３", 3.0, 3.0),
    ("2.5\n\n3.0", 2.5, None),
    ("similarity: 2.0", None, 2.0),
    ("Score: 1.5/5", None, 1.5),
    ("4.2点", None, 4.2),
    ("4,2", None, None),
    ("1e0", None, None),
    ("\n\n4.8", 4.8, 4.8),
    ("4.8 4.8", None, 4.8),
    ("3点", None, 3.0),
    ("文1と文2はほぼ同じ意味です", None, None),
    ("二つの文の類似度は 2.4 です", None, 2.4),
    ("4.25", 4.25, 4.25),
]


@pytest.mark.parametrize(("answer", "strict", "lenient"), JSTS_CASES)
def test_jsts_profiles(answer: str, strict: float | None, lenient: float | None) -> None:
    assert strict_number(answer) == strict
    assert lenient_number(answer) == lenient


def test_jsts_unreadable_answers_count_at_the_floor() -> None:
    """Six answers, one of them 「わかりません」: predicted at -2.0, it pulls Pearson's r down (llm-jp-eval's
    convention) instead of leaving the five good answers to correlate alone."""
    from llamune_eval.benchmarks import Observed
    from llamune_eval.scoring.metrics import pearson

    task = JSTS()
    golds = [0.5, 1.5, 2.5, 3.5, 4.5, 2.0]
    answers = ["0.6", "1.4", "2.6", "3.4", "4.6", "わかりません"]
    scores = [task.score(Item(id=str(i), turns=["…"], reference=g), [a]) for i, (g, a) in enumerate(zip(golds,
              answers, strict=True))]  # fmt: skip
    head = task.headline([Observed(s.values) for s in scores])
    expected = pearson([0.6, 1.4, 2.6, 3.4, 4.6, -2.0], golds)
    assert head.value == pytest.approx(expected)
    assert head.value < 0.75 < head.others["pearson_answered"]  # type: ignore[operator]


T = "東京"
JSQUAD = [  # (answer, golds, strict EM, strict F1, lenient EM, lenient F1)
    ("東京", [T], 1, 1, 1, 1),
    ("「東京」", [T], 0, 2 / 3, 1, 1),
    ("答え：東京", [T], 0, 4 / 7, 1, 1),
    ("東京。", [T], 1, 1, 1, 1),
    ("東京です", [T], 0, 2 / 3, 0, 2 / 3),
    (" 東京 ", [T], 1, 1, 1, 1),
    ("東 京", [T], 1, 1, 1, 1),
    ("東京\n理由：文章の三行目", [T], 1, 1, 1, 1),
    ("\n東京", [T], 1, 1, 1, 1),
    ("", [T], 0, 0, 0, 0),
    ("大阪", [T], 0, 0, 0, 0),
    ("東京都", [T], 0, 0.8, 0, 0.8),
    ("iphone", ["iPhone"], 1, 1, 1, 1),
    ("ＩＰＨＯＮＥ", ["iPhone"], 1, 1, 1, 1),
    ("東京.", [T], 0, 0.8, 1, 1),
    ("(東京)", [T], 0, 2 / 3, 1, 1),
    ("『東京』", [T], 0, 2 / 3, 1, 1),
    ("東京、", [T], 0, 0.8, 1, 1),
    ("東京！", [T], 0, 0.8, 1, 1),
    ("東京都", [T, "東京都"], 1, 1, 1, 1),
    ("小笠原", ["小笠原諸島", "小笠原"], 1, 1, 1, 1),
    ("小笠原諸島の父島", ["小笠原諸島"], 0, 10 / 13, 0, 10 / 13),
    ("ＡＢＣ", ["abc"], 1, 1, 1, 1),
    ("１２３", ["123"], 1, 1, 1, 1),
    ("123年", ["123"], 0, 6 / 7, 0, 6 / 7),
    ("Answer: 東京", [T], 0, 4 / 11, 1, 1),
    ("回答：東京", [T], 0, 4 / 7, 1, 1),
    ("東京\u3000", [T], 1, 1, 1, 1),
    ("東京。。", [T], 1, 1, 1, 1),
    ("ああい", ["あい"], 0, 0.8, 0, 0.8),
    ("あ", ["あい"], 0, 2 / 3, 0, 2 / 3),
    ("とうきょう", [T], 0, 0, 0, 0),
    ("東京 大阪", [T], 0, 2 / 3, 0, 2 / 3),
    ("**東京**", [T], 0, 0.5, 1, 1),
    ("東京 (とうきょう)", [T], 0, 4 / 11, 0, 0.4),
    ("Tokyo", [T], 0, 0, 0, 0),
    ("1945", ["1945年"], 0, 8 / 9, 0, 8 / 9),
    ("カタカナ", ["ｶﾀｶﾅ"], 1, 1, 1, 1),
    ("東京", ["東京。"], 1, 1, 1, 1),
    ("答え\n東京", [T], 0, 0, 0, 0),
    ("a.i.", ["A.I."], 1, 1, 1, 1),
]


@pytest.mark.parametrize(("answer", "golds", "em", "f1", "lenient_em", "lenient_f1"), JSQUAD)
def test_jsquad_profiles(answer: str, golds: list[str], em: float, f1: float, lenient_em: float,
                         lenient_f1: float) -> None:  # fmt: skip
    score = JSQuAD().score(Item(id="q", turns=["…"], reference=golds), [answer])
    assert score.values["em"] == em
    assert score.values["f1"] == pytest.approx(f1, abs=1e-12)
    assert score.lenient is not None
    assert score.lenient["em"] == lenient_em
    assert score.lenient["f1"] == pytest.approx(lenient_f1, abs=1e-12)


def test_every_table_has_forty_cases() -> None:
    assert min(len(JCQA), len(JNLI), len(JSTS_CASES), len(JSQUAD)) >= 40
