"""Metric functions against hand-computed values and scipy."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats

from llamune_eval.scoring.metrics import accuracy, char_f1, exact_match, normalize, pearson, spearman
from llamune_eval.scoring.parse import answer_line, first_line
from llamune_eval.scoring.stats import bootstrap_ci, bootstrap_ci_paired


def test_normalize_folds_width_space_and_edge_punctuation() -> None:
    assert normalize("　ＡＢＣ １２３。") == "ABC123"
    assert normalize("「東京」") == "東京"


def test_exact_match_best_over_golds() -> None:
    assert exact_match("小笠原諸島。", ["北海道", "小笠原諸島"]) == 1.0
    assert exact_match("小笠原", ["小笠原諸島"]) == 0.0


def test_char_f1_hand_computed() -> None:
    # pred 東京都 vs gold 東京: common 2, precision 2/3, recall 1 -> F1 = 0.8
    assert char_f1("東京都", ["東京"]) == pytest.approx(0.8)
    # best over golds: the second gold matches exactly
    assert char_f1("東京", ["大阪", "東京"]) == 1.0
    # repeated characters count as a multiset: pred ああい vs gold あい: common 2, P 2/3, R 1
    assert char_f1("ああい", ["あい"]) == pytest.approx(0.8)
    assert char_f1("", ["東京"]) == 0.0


def test_correlations_match_scipy() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=50)
    y = x + rng.normal(scale=0.5, size=50)
    y[:5] = y[5]  # ties for Spearman
    assert pearson(list(x), list(y)) == pytest.approx(scipy.stats.pearsonr(x, y).statistic)
    assert spearman(list(x), list(y)) == pytest.approx(scipy.stats.spearmanr(x, y).statistic)
    assert math.isnan(pearson([1, 1, 1], [1, 2, 3]))


def test_accuracy() -> None:
    assert accuracy([1, 0, 1, 1]) == 0.75
    assert math.isnan(accuracy([]))


def test_bootstrap_is_seeded_and_brackets_the_mean() -> None:
    values = [1.0] * 70 + [0.0] * 30
    low, high = bootstrap_ci(values, seed=1)
    assert (low, high) == bootstrap_ci(values, seed=1)
    assert 0.55 < low < 0.7 < high < 0.85
    # hand check of the percentile method on the same index matrix
    rng = np.random.default_rng(1)
    means = np.asarray(values)[rng.integers(0, 100, size=(1000, 100))].mean(axis=1)
    assert low == pytest.approx(np.quantile(means, 0.025))


def test_paired_bootstrap_for_correlation() -> None:
    x = list(range(30))
    y = [v + (1 if v % 2 else -1) for v in x]
    low, high = bootstrap_ci_paired(x, y, lambda a, b: pearson(list(a), list(b)), seed=0)
    assert 0.9 < low <= high <= 1.0


def test_first_line_skips_blank_lines_and_drops_an_answer_label() -> None:
    """The answer readers themselves are tested per benchmark in tests/benchmarks/test_profiles.py."""
    assert first_line("\n答え：富士山\n理由…") == "富士山"
    assert answer_line("\n答え：富士山\n理由…") == "答え：富士山"


def test_rankdata_matches_scipy_with_ties() -> None:
    from llamune_eval.scoring.metrics import rankdata

    values = [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0, 5.0, 3.0, 5.0]
    assert rankdata(values) == pytest.approx(list(scipy.stats.rankdata(values)))


def test_language_mismatch() -> None:
    from llamune_eval.scoring.language import language_mismatch, penalised

    question = "日本の首都について説明してください。"
    assert language_mismatch(question, "The capital of Japan is Tokyo, a very large city.")
    assert not language_mismatch(question, "日本の首都は東京です。人口が多い都市です。")
    assert not language_mismatch("Explain the capital of Japan.", "The capital is Tokyo, a large city.")
    assert penalised(9, 10) == 2 and penalised(4, 5) == 1 and penalised(1, 10) == 1
