"""Comparison statistics checked against known values and against scipy / statsmodels on fixed data."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from psychosafe.stats.compare import (
    compare_paired,
    describe,
    holm,
    mean_interval,
    paired_bootstrap,
    paired_test,
    proportion_interval,
)

A = [2.0, 3.0, 1.0, 4.0, 2.0, 5.0, 3.0, 2.0, 1.0, 3.0, 4.0, 2.0]
B = [3.0, 4.0, 1.0, 5.0, 4.0, 5.0, 4.0, 2.5, 2.0, 3.5, 3.0, 4.0]


def test_wilcoxon_matches_scipy_and_the_exact_known_value() -> None:
    # five pairs, every difference +1: the exact two-sided p is 2 / 2**5
    out = paired_test([1, 2, 3, 4, 5], [2, 3, 4, 5, 6])
    assert out["p_value"] == pytest.approx(0.0625)
    assert out["n"] == 5 and out["n_nonzero"] == 5
    # ties and zero differences (normal approximation): same as scipy on the same data
    out = paired_test(A, B)
    expected = stats.wilcoxon(B, A, zero_method="wilcox", alternative="two-sided")
    assert out["p_value"] == pytest.approx(float(expected.pvalue), abs=1e-6)
    assert out["statistic"] == pytest.approx(float(expected.statistic))
    assert out["n_nonzero"] == 10
    # the direction does not matter for a two-sided test
    assert paired_test(B, A)["p_value"] == pytest.approx(out["p_value"], abs=1e-6)


def test_no_difference_gives_p_one_and_empty_gives_none() -> None:
    assert paired_test([1, 2, 3], [1, 2, 3])["p_value"] == 1.0
    assert paired_test([], [])["p_value"] is None
    with pytest.raises(ValueError):
        paired_test([1, 2], [1])


def test_permutation_test_exact_known_value_and_scipy() -> None:
    # eight pairs, all differences positive: 2^8 sign flips, exact two-sided p = 2 / 256
    a = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]
    b = [x + d for x, d in zip(a, [0.5, 1.0, 1.5, 0.2, 0.7, 1.1, 0.9, 0.3], strict=True)]
    out = paired_test(a, b, method="permutation", resamples=2000, seed=3)
    assert out["p_value"] == pytest.approx(2 / 256)
    assert out["statistic"] == pytest.approx(float(np.mean(np.subtract(b, a))))
    # a larger sample (randomised): the same as scipy with the same seed, and reproducible
    out = paired_test(A, B, method="permutation", resamples=999, seed=11)
    expected = stats.permutation_test(
        (np.array(B), np.array(A)),
        lambda x, y, axis: np.mean(x - y, axis=axis),
        permutation_type="samples",
        vectorized=True,
        n_resamples=999,
        rng=np.random.default_rng(11),
    )
    assert out["p_value"] == pytest.approx(float(expected.pvalue), abs=1e-6)
    assert paired_test(A, B, method="permutation", resamples=999, seed=11) == out
    with pytest.raises(ValueError):
        paired_test(A, B, method="t-test")  # type: ignore[arg-type]


def test_holm_known_values_statsmodels_and_missing() -> None:
    p = [0.01, 0.04, 0.03, 0.005]
    # sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1 -> 0.02, 0.03, 0.06, 0.04 -> monotone 0.02, 0.03, 0.06, 0.06
    assert holm(p) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm(p) == pytest.approx(list(multipletests(p, method="holm")[1]))
    # untestable entries stay None and are not part of the family
    assert holm([0.01, None, 0.04]) == pytest.approx([0.02, None, 0.04])
    assert holm([None]) == [None]


def test_wilson_interval_known_value() -> None:
    # k = 0 of n = 5: upper bound z^2 / (n + z^2)
    z2 = stats.norm.ppf(0.975) ** 2
    low, high = proportion_interval([0, 0, 0, 0, 0])
    assert low == 0.0
    assert high == pytest.approx(z2 / (5 + z2), abs=1e-4)
    assert proportion_interval([]) == (None, None)
    low, high = proportion_interval([1, 0, 1, 1])
    assert low < 0.75 < high


def test_mean_interval_covers_the_true_mean_and_is_seeded() -> None:
    rng = np.random.default_rng(5)
    x = rng.normal(3.0, 1.0, size=400)
    low, high = mean_interval(x.tolist(), resamples=2000, seed=2)
    assert low < 3.0 < high
    assert high - low < 0.4
    assert mean_interval(x.tolist(), resamples=2000, seed=2) == (low, high)
    assert mean_interval([4.0], 500, 0) == (None, None)
    assert mean_interval([2.0, 2.0, 2.0], 500, 0) == (2.0, 2.0)
    assert describe("empathy", [], 500, 0)["mean"] is None
    assert describe("refusal", [1, 0, 1, 0], 500, 0)["mean"] == 0.5


def test_bootstrap_interval_of_relative_improvement_covers_a_known_difference() -> None:
    # B is A scaled by 1.2 plus small noise: the true relative improvement is about +20%
    rng = np.random.default_rng(21)
    base = rng.uniform(1.0, 4.0, size=250)
    better = base * 1.2 + rng.normal(0.0, 0.1, size=250)
    a = {f"i{k}": {"overall": float(v), "refusal": 1.0} for k, v in enumerate(base)}
    b = {f"i{k}": {"overall": float(v), "refusal": 1.0} for k, v in enumerate(better)}
    b["only-in-b"] = {"overall": 5.0, "refusal": 0.0}
    out = compare_paired(a, b, ("overall", "refusal"), resamples=2000, seed=4)
    assert out["n"] == 250  # only the shared items
    overall = out["keys"]["overall"]
    truth = (better.mean() - base.mean()) / base.mean()
    assert overall["relative"]["ci_low"] < truth < overall["relative"]["ci_high"]
    assert overall["relative"]["ci_low"] < 0.2 < overall["relative"]["ci_high"]
    assert overall["relative"]["ci_low"] > 0.1
    assert overall["delta"] == pytest.approx(better.mean() - base.mean(), abs=1e-4)
    assert overall["test"]["p_value"] < 1e-10
    assert overall["p_holm"] == pytest.approx(min(1.0, 2 * overall["test"]["p_value"]))
    # no difference in refusal: p = 1, relative improvement 0 with a zero-width interval
    assert out["keys"]["refusal"]["test"]["p_value"] == 1.0
    assert out["keys"]["refusal"]["relative"] == {"value": 0.0, "ci_low": 0.0, "ci_high": 0.0, "n": 250}
    # the same function as results.json uses, same seed, same numbers
    ids = sorted(set(a) & set(b))
    assert overall["relative"] == paired_bootstrap(
        [a[i]["overall"] for i in ids], [b[i]["overall"] for i in ids], 2000, 4
    )
