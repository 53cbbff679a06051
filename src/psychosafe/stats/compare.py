"""Comparison statistics between two conditions (or two runs) on the same items.

Everything distributional comes from scipy / statsmodels; nothing here hand-rolls a distribution:

- relative improvement ``(mean_b - mean_a) / mean_a`` with a paired-bootstrap 95% percentile interval
  (:func:`psychosafe.run.results.paired_bootstrap`, the same function ``results.json`` uses, seeded);
- a paired test per dimension: Wilcoxon signed-rank (``scipy.stats.wilcoxon``, two-sided, zero differences
  dropped) or a paired permutation test (``scipy.stats.permutation_test``, sign flips of the differences);
- Holm correction across the dimensions of one comparison (``statsmodels.stats.multitest.multipletests``);
- intervals for a single mean: Wilson for rates (``statsmodels`` ``proportion_confint``), a seeded percentile
  bootstrap (``scipy.stats.bootstrap``) for scale means.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np

from psychosafe.run.results import paired_bootstrap

TestMethod = Literal["wilcoxon", "permutation"]
TEST_METHODS: tuple[str, ...] = ("wilcoxon", "permutation")
#: Per-item keys that are 0/1 (their mean is a rate; Wilson intervals).
BINARY_VALUE_KEYS: tuple[str, ...] = ("refusal", "harmful_content", "referral_rate")

__all__ = [
    "BINARY_VALUE_KEYS",
    "TEST_METHODS",
    "compare_paired",
    "holm",
    "mean_interval",
    "paired_bootstrap",
    "paired_test",
    "proportion_interval",
]


def _clean(value: float | None, digits: int | None = None) -> float | None:
    """``None`` for missing or non-finite values; rounded to ``digits`` when given (p-values are not rounded)."""
    if value is None or not math.isfinite(value):
        return None
    return float(value) if digits is None else round(float(value), digits)


def paired_test(
    a: Sequence[float],
    b: Sequence[float],
    method: TestMethod = "wilcoxon",
    resamples: int = 2000,
    seed: int = 0,
) -> dict[str, Any]:
    """Two-sided paired test of ``b`` against ``a`` (same items, same order).

    ``wilcoxon``: ``scipy.stats.wilcoxon(b, a)`` (zero differences dropped, exact distribution for small samples
    without ties, normal approximation otherwise); when every difference is zero there is no evidence of a
    difference and the p-value is 1. ``permutation``: ``scipy.stats.permutation_test`` of the mean difference
    with ``permutation_type="samples"`` (sign flips within pairs), ``resamples`` seeded by ``seed`` (exact when
    the number of distinct flips is smaller). ``p_value`` is ``None`` with fewer than one pair.
    """
    from scipy import stats

    xa, xb = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if xa.shape != xb.shape:
        raise ValueError(f"paired samples differ in length: {xa.size} and {xb.size}")
    diff = xb - xa
    out: dict[str, Any] = {
        "method": method,
        "n": int(xa.size),
        "n_nonzero": int(np.count_nonzero(diff)),
        "statistic": None,
        "p_value": None,
    }
    if xa.size == 0:
        return out
    if method == "wilcoxon":
        if not np.any(diff):
            out["statistic"], out["p_value"] = 0.0, 1.0
            return out
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            result = stats.wilcoxon(xb, xa, zero_method="wilcox", alternative="two-sided")
        out["statistic"], out["p_value"] = _clean(result.statistic), _clean(result.pvalue)
    elif method == "permutation":
        result = stats.permutation_test(
            (xb, xa),
            lambda x, y, axis: np.mean(x - y, axis=axis),
            permutation_type="samples",
            vectorized=True,
            n_resamples=resamples,
            alternative="two-sided",
            rng=np.random.default_rng(seed),
        )
        out["statistic"], out["p_value"] = _clean(result.statistic), _clean(min(1.0, float(result.pvalue)))
    else:
        raise ValueError(f"unknown test {method!r}: choose from {', '.join(TEST_METHODS)}")
    return out


def holm(p_values: Sequence[float | None], alpha: float = 0.05) -> list[float | None]:
    """Holm-adjusted p-values (``statsmodels`` ``multipletests(method="holm")``) over the given family;
    ``None`` entries (no test possible) stay ``None`` and are not counted in the family."""
    from statsmodels.stats.multitest import multipletests

    present = [i for i, p in enumerate(p_values) if p is not None]
    adjusted: list[float | None] = [None] * len(p_values)
    if present:
        _, corrected, _, _ = multipletests([p_values[i] for i in present], alpha=alpha, method="holm")
        for i, p in zip(present, corrected, strict=True):
            adjusted[i] = _clean(float(p))
    return adjusted


def proportion_interval(values: Sequence[float], confidence: float = 0.95) -> tuple[float | None, float | None]:
    """Wilson interval for the rate of 0/1 ``values``."""
    from statsmodels.stats.proportion import proportion_confint

    n = len(values)
    if n == 0:
        return None, None
    low, high = proportion_confint(round(sum(values)), n, alpha=1 - confidence, method="wilson")
    return _clean(float(low), 4), _clean(float(high), 4)


def mean_interval(
    values: Sequence[float], resamples: int, seed: int, confidence: float = 0.95
) -> tuple[float | None, float | None]:
    """Seeded percentile-bootstrap interval for a mean (``scipy.stats.bootstrap``); ``None`` below 2 values."""
    from scipy import stats

    x = np.asarray(values, dtype=float)
    if x.size < 2:
        return None, None
    if np.all(x == x[0]):
        return _clean(float(x[0]), 4), _clean(float(x[0]), 4)
    result = stats.bootstrap(
        (x,),
        np.mean,
        confidence_level=confidence,
        n_resamples=resamples,
        method="percentile",
        rng=np.random.default_rng(seed),
    )
    ci = result.confidence_interval
    return _clean(float(ci.low), 4), _clean(float(ci.high), 4)


def describe(key: str, values: Sequence[float], resamples: int, seed: int) -> dict[str, Any]:
    """Mean of one dimension with its 95% interval (Wilson for 0/1 keys, bootstrap otherwise)."""
    if not values:
        return {"mean": None, "ci_low": None, "ci_high": None, "n": 0}
    low, high = proportion_interval(values) if key in BINARY_VALUE_KEYS else mean_interval(values, resamples, seed)
    return {"mean": _clean(float(np.mean(values)), 4), "ci_low": low, "ci_high": high, "n": len(values)}


def compare_paired(
    a: Mapping[str, Mapping[str, float]],
    b: Mapping[str, Mapping[str, float]],
    keys: Sequence[str],
    resamples: int,
    seed: int,
    method: TestMethod = "wilcoxon",
) -> dict[str, Any]:
    """Compare per-item values ``b[id][key]`` against ``a[id][key]`` on the items both hold.

    Returns ``{"n": shared items, "ids": [...], "keys": {key: {mean_a, mean_b, delta, relative, test,
    p_holm}}}``; ``relative`` is the paired-bootstrap relative improvement of b over a with its 95% interval,
    ``p_holm`` the p-value Holm-corrected across ``keys``.
    """
    shared = sorted(set(a) & set(b))
    rows: dict[str, Any] = {}
    for key in keys:
        xa = [float(a[i][key]) for i in shared]
        xb = [float(b[i][key]) for i in shared]
        mean_a = float(np.mean(xa)) if xa else None
        mean_b = float(np.mean(xb)) if xb else None
        rows[key] = {
            "n": len(shared),
            "mean_a": _clean(mean_a, 4),
            "mean_b": _clean(mean_b, 4),
            "delta": _clean(None if mean_a is None or mean_b is None else mean_b - mean_a, 4),
            "relative": paired_bootstrap(xa, xb, resamples, seed),
            "test": paired_test(xa, xb, method=method, resamples=resamples, seed=seed),
        }
    adjusted = holm([rows[k]["test"]["p_value"] for k in keys])
    for key, p in zip(keys, adjusted, strict=True):
        rows[key]["p_holm"] = p
    return {"n": len(shared), "ids": shared, "method": method, "keys": rows}
