"""Agreement statistics against published values and the reference libraries, plus degenerate input."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pingouin
import pytest
from scipy.stats import spearmanr
from sklearn.metrics import cohen_kappa_score

from psychosafe.stats.agreement import inter_rater_alpha, pairwise_agreement

# Cohen's kappa textbook example (Wikipedia, "Cohen's kappa"): 50 proposals, 20 yes/yes, 5 yes/no, 10 no/yes,
# 15 no/no -> kappa = 0.4.
A_BIN = [1] * 25 + [0] * 25
B_BIN = [1] * 20 + [0] * 5 + [1] * 10 + [0] * 15

# Krippendorff (2011), "Computing Krippendorff's alpha-reliability", the 3-coder / 15-unit example with missing
# values: nominal alpha = 0.691.
KRIPP = [
    [None, None, None, None, None, 3, 4, 1, 2, 1, 1, 3, 3, None, 3],
    [1, None, 2, 1, 3, 3, 4, 3, None, None, None, None, None, None, None],
    [None, None, 2, 1, 3, 4, 4, None, 2, 1, 1, 3, 3, None, 4],
]

RNG = np.random.default_rng(7)
A_ORD = RNG.integers(1, 6, 80).tolist()
B_ORD = np.clip(np.array(A_ORD) + RNG.integers(-1, 2, 80), 1, 5).tolist()


def test_binary_kappa_known_value_interval_and_confusion() -> None:
    out = pairwise_agreement(A_BIN, B_BIN, "binary", resamples=300, seed=1)
    assert out["n"] == 50
    assert out["kappa"]["value"] == pytest.approx(0.4)
    assert out["kappa"]["ci_low"] < 0.4 < out["kappa"]["ci_high"]
    assert out["accuracy"]["value"] == pytest.approx(0.7)
    assert out["confusion"] == {
        "labels": [0, 1],
        "matrix": [[15, 10], [5, 20]],
        "rows": "first rater (a)",
        "columns": "second rater (b)",
    }


def test_ordinal_statistics_match_the_libraries() -> None:
    out = pairwise_agreement(A_ORD, B_ORD, "ordinal", resamples=300, seed=0)
    assert out["quadratic_kappa"]["value"] == pytest.approx(
        cohen_kappa_score(A_ORD, B_ORD, weights="quadratic", labels=[1, 2, 3, 4, 5])
    )
    assert out["spearman"]["value"] == pytest.approx(spearmanr(A_ORD, B_ORD).statistic)
    frame = pd.DataFrame({"t": list(range(80)) * 2, "r": ["a"] * 80 + ["b"] * 80, "y": A_ORD + B_ORD})
    table = pingouin.intraclass_corr(data=frame, targets="t", raters="r", ratings="y").set_index("Type")
    assert out["icc"]["value"] == pytest.approx(table.loc["ICC(A,1)", "ICC"])
    assert [out["icc"]["ci_low"], out["icc"]["ci_high"]] == pytest.approx(list(table.loc["ICC(A,1)", "CI95"]))
    for key in ("quadratic_kappa", "spearman", "icc", "krippendorff_ordinal"):
        stat = out[key]
        assert -1 <= stat["ci_low"] <= stat["value"] <= stat["ci_high"] <= 1, key
    assert sum(map(sum, out["confusion"]["matrix"])) == 80
    # a label set that skips a value changes the quadratic weights: the default spans every integer in between
    gapped = pairwise_agreement([1, 2, 5, 5, 1], [1, 5, 5, 2, 2], "ordinal", resamples=0)
    assert gapped["confusion"]["labels"] == [1, 2, 3, 4, 5]
    assert gapped["quadratic_kappa"]["value"] == pytest.approx(
        cohen_kappa_score([1, 2, 5, 5, 1], [1, 5, 5, 2, 2], weights="quadratic", labels=[1, 2, 3, 4, 5])
    )


def test_bootstrap_is_seeded_and_icc_can_be_bootstrapped() -> None:
    first = pairwise_agreement(A_ORD, B_ORD, "ordinal", resamples=100, seed=3)
    again = pairwise_agreement(A_ORD, B_ORD, "ordinal", resamples=100, seed=3)
    other = pairwise_agreement(A_ORD, B_ORD, "ordinal", resamples=100, seed=4)
    assert first == again
    assert first["spearman"]["ci_low"] != other["spearman"]["ci_low"]
    boot = pairwise_agreement(A_ORD[:30], B_ORD[:30], "ordinal", resamples=40, seed=0, icc_ci="bootstrap")
    assert boot["icc"]["ci_low"] < boot["icc"]["value"] < boot["icc"]["ci_high"]
    assert "note" not in boot["icc"]


def test_perfect_agreement_is_one() -> None:
    values = [1, 2, 3, 4, 5, 3, 2, 4]
    out = pairwise_agreement(values, values, "ordinal", resamples=100)
    for key in ("quadratic_kappa", "spearman", "icc", "krippendorff_ordinal", "accuracy"):
        assert out[key]["value"] == pytest.approx(1.0), key
    assert out["quadratic_kappa"]["ci_low"] == pytest.approx(1.0)
    binary = pairwise_agreement([0, 1, 1, 0], [0, 1, 1, 0], "binary", resamples=100)
    assert binary["kappa"]["value"] == pytest.approx(1.0)
    ratings = {f"i{i}": {"r1": v, "r2": v, "r3": v} for i, v in enumerate(values)}
    assert inter_rater_alpha(ratings, "ordinal", resamples=100)["value"] == pytest.approx(1.0)


def test_krippendorff_published_example() -> None:
    ratings = {f"u{j}": {f"c{i}": KRIPP[i][j] for i in range(3)} for j in range(15)}
    out = inter_rater_alpha(ratings, "nominal", resamples=200, seed=0)
    assert out["value"] == pytest.approx(0.691, abs=5e-4)
    assert out["n_items"] == 12  # units 2, 14 and the one-rating unit 1 cannot be paired
    assert out["n_raters"] == 3
    assert out["ci_low"] < out["value"] <= out["ci_high"]
    ordinal = inter_rater_alpha(ratings, "ordinal", resamples=0)
    assert ordinal["value"] == pytest.approx(0.8067, abs=5e-4) and ordinal["ci_low"] is None


def test_degenerate_input_is_reported_not_raised() -> None:
    one_class = pairwise_agreement([1, 1, 1, 1], [1, 1, 1, 1], "binary", resamples=50)
    assert one_class["kappa"]["value"] is None and "single label" in one_class["kappa"]["note"]
    assert one_class["confusion"]["matrix"] == [[0, 0], [0, 4]]
    flat = pairwise_agreement([3, 3, 3], [2, 4, 5], "ordinal", resamples=50)
    assert flat["spearman"]["value"] is None and flat["spearman"]["note"]
    assert flat["quadratic_kappa"]["value"] == pytest.approx(0.0)
    for a, b in (([], []), ([2], [3]), ([None, 1, 2], [4, None, None])):
        out = pairwise_agreement(a, b, "ordinal", resamples=50)
        assert out["n"] == sum(x is not None and y is not None for x, y in zip(a, b, strict=True))
        for key in ("quadratic_kappa", "spearman", "icc", "krippendorff_ordinal"):
            assert out[key]["value"] is None and "at least 2" in out[key]["note"]
    nan = pairwise_agreement([1, float("nan"), 0, 1], [1, 0, 0, 1], "binary", resamples=50)
    assert nan["n"] == 3 and nan["kappa"]["value"] == pytest.approx(1.0)
    # some resamples of three items draw one class only (kappa undefined): the interval uses the rest, and says so
    few = pairwise_agreement([0, 1, 0], [0, 1, 1], "binary", resamples=100, seed=0)
    assert few["kappa"]["value"] is not None and few["kappa"]["note"].startswith("interval from")
    same = inter_rater_alpha({"a": {"x": 2, "y": 2}, "b": {"x": 2, "y": 2}}, "ordinal", resamples=20)
    assert same["value"] is None and same["n_items"] == 2 and same["note"]
    lonely = inter_rater_alpha({"a": {"x": 1}, "b": {"y": 2}}, "nominal")
    assert lonely["value"] is None and lonely["n_items"] == 0
    with pytest.raises(ValueError, match="differ in length"):
        pairwise_agreement([1, 2], [1], "ordinal")
    with pytest.raises(ValueError, match="scale"):
        pairwise_agreement([1, 2], [1, 2], "nominal")  # type: ignore[arg-type]
    assert all(
        v is None or math.isfinite(v)
        for stat in pairwise_agreement([5, 5, 1], [5, 5, 5], "ordinal", resamples=20).values()
        if isinstance(stat, dict) and "value" in stat
        for v in (stat["value"], stat["ci_low"], stat["ci_high"])
    )
