"""Statistics against scipy and hand-computed references."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats

from llamune_eval.scoring.stats import (
    bootstrap_ci,
    bradley_terry,
    bradley_terry_ci,
    fisher_exact,
    holm,
    mcnemar_exact,
    paired_bootstrap,
    resampled_means,
    sign_flip,
)


def test_mcnemar_on_a_small_table() -> None:
    # discordant pairs: A right & B wrong = 1, B right & A wrong = 6 -> exact two-sided p = 2 * P(X <= 1), X~Bin(7, .5)
    a = [True] * 10 + [True] + [False] * 6 + [False] * 3
    b = [True] * 10 + [False] + [True] * 6 + [False] * 3
    expected = 2 * (1 + 7) / 2**7
    assert mcnemar_exact(a, b) == pytest.approx(expected)
    assert mcnemar_exact(a, a) == 1.0


def test_holm_on_known_pvalues() -> None:
    # sorted p: .01, .02, .03, .04 with m = 4 -> .04, .06, .06 (monotone), .06
    assert holm([0.04, 0.01, 0.03, 0.02]) == pytest.approx([0.06, 0.04, 0.06, 0.06])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])


def test_paired_bootstrap_is_seeded_and_detects_a_clear_difference() -> None:
    rng = np.random.default_rng(1)
    a = rng.normal(0.7, 0.1, size=200)
    b = a - 0.05 + rng.normal(0, 0.02, size=200)
    diff, low, high, p = paired_bootstrap(a, b, seed=3)
    assert (diff, low, high, p) == paired_bootstrap(a, b, seed=3)
    assert low < diff < high and low > 0 and p < 0.01
    same = paired_bootstrap(a, a + rng.normal(0, 0.01, size=200), seed=3)
    assert same[1] < 0 < same[2] and same[3] > 0.05


def test_bradley_terry_recovers_a_synthetic_tournament() -> None:
    truth = {"A": 1.0, "B": 0.3, "C": -0.2, "D": -1.1}
    rng = np.random.default_rng(5)
    names = list(truth)
    games = []
    for _ in range(3000):
        i, j = rng.choice(4, size=2, replace=False)
        a, b = names[i], names[j]
        p = 1 / (1 + np.exp(-(truth[a] - truth[b])))
        games.append((a, b, float(rng.random() < p)))
    est = bradley_terry(games)
    centred = {k: v - np.mean(list(truth.values())) for k, v in truth.items()}
    for name in names:
        assert est[name] == pytest.approx(centred[name], abs=0.15)
    assert sorted(est, key=est.get) == ["D", "C", "B", "A"]  # type: ignore[arg-type]
    ci = bradley_terry_ci(games[:600], resamples=60, seed=1)
    assert all(low <= point <= high for point, low, high in ci.values())
    assert ci["A"][1] > ci["D"][2]  # clearly separated


@pytest.mark.parametrize("table", [(8, 2, 1, 5), (30, 0, 0, 30), (3, 3, 3, 3), (0, 5, 2, 0), (12, 7, 4, 20)])
def test_fisher_exact_matches_scipy(table: tuple[int, int, int, int]) -> None:
    a, b, c, d = table
    expected = scipy.stats.fisher_exact([[a, b], [c, d]]).pvalue
    assert fisher_exact(a, b, c, d) == pytest.approx(expected, rel=1e-9)
    assert fisher_exact(0, 0, 3, 4) == 1.0  # an empty row: no evidence either way


def test_resampling_counts_of_few_levels_is_the_item_bootstrap() -> None:
    """Right/wrong values resampled as multinomial counts: the same distribution as drawing items (checked against
    the index-matrix draw's mean and spread), in time independent of the number of items."""
    data = np.array([1.0] * 700 + [0.0] * 300)
    counts = resampled_means(data, 20_000, np.random.default_rng(0))
    items = data[np.random.default_rng(1).integers(0, data.size, size=(20_000, data.size))].mean(axis=1)
    assert counts.mean() == pytest.approx(items.mean(), abs=1e-3)
    assert counts.std() == pytest.approx(items.std(), rel=0.03) and counts.std() == pytest.approx(
        (0.7 * 0.3 / 1000) ** 0.5, rel=0.03
    )  # fmt: skip
    low, high = bootstrap_ci(data.tolist(), seed=0)
    assert low == pytest.approx(0.7 - 1.96 * (0.21 / 1000) ** 0.5, abs=0.01) and high > 0.7


def test_sign_flip_is_exact_on_few_items_and_agrees_with_the_t_test_on_many() -> None:
    assert sign_flip([1.0, 1.0], [0.0, 0.0]) == 0.5  # 4 sign patterns, 2 as extreme: no evidence from two items
    assert sign_flip([0.3, 0.3], [0.3, 0.3]) == 1.0
    rng = np.random.default_rng(2)
    a = rng.normal(0.5, 0.2, size=400)
    b = a - 0.03 + rng.normal(0, 0.2, size=400)
    expected = scipy.stats.ttest_rel(a, b).pvalue
    assert sign_flip(a, b, seed=1) == pytest.approx(expected, abs=0.01)
    levels = rng.choice([0.0, 0.4, 1.0], size=300)  # few levels: drawn as binomial counts, the same test
    other = rng.choice([0.0, 0.4, 1.0], size=300)
    assert sign_flip(levels, other, seed=1) == pytest.approx(scipy.stats.ttest_rel(levels, other).pvalue, abs=0.02)
