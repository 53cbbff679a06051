from __future__ import annotations

import numpy as np

from psychosafe.run.results import paired_bootstrap


def test_relative_improvement_point_value() -> None:
    out = paired_bootstrap([1.0, 2.0, 3.0, 2.0], [2.0, 3.0, 4.0, 3.0], resamples=500, seed=0)
    assert out["value"] == 0.5  # (3 - 2) / 2
    assert out["n"] == 4


def test_bootstrap_interval_covers_known_difference() -> None:
    rng = np.random.default_rng(7)
    a = rng.normal(2.0, 0.5, size=300).clip(1, 5)
    b = (a + 0.5 + rng.normal(0, 0.2, size=300)).clip(1, 5)
    truth = (b.mean() - a.mean()) / a.mean()
    out = paired_bootstrap(a.tolist(), b.tolist(), resamples=2000, seed=1)
    assert out["ci_low"] < truth < out["ci_high"]
    assert out["ci_low"] > 0  # a real improvement is detected
    # seeded: same interval again
    assert paired_bootstrap(a.tolist(), b.tolist(), resamples=2000, seed=1) == out


def test_zero_baseline_has_no_relative_value() -> None:
    out = paired_bootstrap([0.0, 0.0], [1.0, 0.0], resamples=200, seed=0)
    assert out["value"] is None
