"""Agreement between two raters (a judge and a human, two judges) and among many raters.

The statistics come from established libraries, never from hand-written formulas:

* Cohen's kappa and quadratic-weighted kappa: :func:`sklearn.metrics.cohen_kappa_score`
* Krippendorff's alpha (nominal, ordinal): :func:`krippendorff.alpha`
* Spearman's rho: :func:`scipy.stats.spearmanr`
* ICC(A,1), two-way, absolute agreement, single rater: :func:`pingouin.intraclass_corr`
* confusion matrices and raw agreement: :mod:`sklearn.metrics`

Each statistic comes with a 95% interval from a seeded percentile bootstrap over items (resampling items with
replacement, ``resamples`` times). The ICC's interval is, by default, the F-distribution interval that pingouin
computes (McGraw & Wong 1996), because bootstrapping pingouin's ANOVA costs ~15 ms a resample; pass
``icc_ci="bootstrap"`` to bootstrap it like the others.

Degenerate input (fewer than two pairs, everyone gives the same label, a constant rater) never raises: the value
is ``None`` and a ``note`` says why. Resamples on which a statistic is undefined are left out of the interval.

All heavy imports happen inside the functions, so importing this module is cheap.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import numpy as np

Value = float | int | None
Stat = dict[str, Any]

#: Fewer valid bootstrap resamples than this share of ``resamples`` and the interval is reported as undefined.
MIN_VALID_SHARE = 0.5
CI_LEVEL = 0.95


def _none(note: str) -> Stat:
    return {"value": None, "ci_low": None, "ci_high": None, "note": note}


def _finite(value: Any) -> float | None:
    """``float(value)`` when it is a finite number, else ``None``."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _label(value: float) -> int | float:
    """Integral floats become ints (labels ``1`` rather than ``1.0`` in confusion matrices and JSON)."""
    return int(value) if float(value).is_integer() else float(value)


def _domain(values: np.ndarray, given: Sequence[float] | None) -> list[int | float]:
    """The label set: ``given``, else every integer between the smallest and largest value when all values are
    integral (so quadratic weights and ordinal distances see the true spacing), else the sorted distinct values."""
    if given is not None:
        return [_label(v) for v in given]
    if values.size == 0:
        return []
    distinct = np.unique(values)
    if all(float(v).is_integer() for v in distinct):
        return list(range(int(distinct.min()), int(distinct.max()) + 1))
    return [_label(v) for v in distinct]


def _safe(fn: Callable[..., Any], *args: Any) -> float | None:
    """Run a statistic, returning ``None`` for an undefined result (NaN, inf, or a library's refusal)."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            return _finite(fn(*args))
        except (ValueError, ZeroDivisionError, FloatingPointError, AssertionError, KeyError, IndexError):
            return None


def _bootstrap(
    fn: Callable[[np.ndarray], float | None],
    n: int,
    resamples: int,
    rng: np.random.Generator,
) -> tuple[float | None, float | None, str | None]:
    """Percentile bootstrap over item indices ``0..n-1``; ``fn`` gets the index array of one resample."""
    if resamples <= 0:
        return None, None, "no interval: resamples=0"
    draws = rng.integers(0, n, size=(resamples, n))
    results = [fn(idx) for idx in draws]
    valid = np.array([r for r in results if r is not None], dtype=float)
    if valid.size < max(2, math.ceil(MIN_VALID_SHARE * resamples)):
        return (
            None,
            None,
            f"interval undefined: the statistic was undefined on {resamples - valid.size} of {resamples} resamples",
        )
    tail = (1 - CI_LEVEL) / 2 * 100
    low, high = np.percentile(valid, [tail, 100 - tail])
    note = None
    if valid.size < resamples:
        note = f"interval from {valid.size} of {resamples} resamples (the rest were degenerate)"
    return float(low), float(high), note


def _stat(
    point: float | None,
    fn: Callable[[np.ndarray], float | None],
    n: int,
    resamples: int,
    seed: int,
    undefined: str,
) -> Stat:
    if point is None:
        return _none(undefined)
    low, high, note = _bootstrap(fn, n, resamples, np.random.default_rng(seed))
    out: Stat = {"value": point, "ci_low": low, "ci_high": high}
    if note:
        out["note"] = note
    return out


def _pairs(a: Sequence[Value], b: Sequence[Value]) -> tuple[np.ndarray, np.ndarray]:
    if len(a) != len(b):
        raise ValueError(f"the two rating sequences differ in length ({len(a)} vs {len(b)})")
    kept = [(float(x), float(y)) for x, y in zip(a, b, strict=True) if x is not None and y is not None]
    kept = [(x, y) for x, y in kept if math.isfinite(x) and math.isfinite(y)]
    if not kept:
        return np.empty(0), np.empty(0)
    xs, ys = zip(*kept, strict=True)
    return np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)


def _kappa(x: np.ndarray, y: np.ndarray, labels: list[int | float], weights: str | None) -> float | None:
    from sklearn.metrics import cohen_kappa_score

    return _safe(lambda: cohen_kappa_score(x, y, labels=labels, weights=weights))


def _spearman(x: np.ndarray, y: np.ndarray) -> float | None:
    from scipy.stats import spearmanr

    return _safe(lambda: spearmanr(x, y).statistic)


def _alpha(data: np.ndarray, level: Literal["nominal", "ordinal"], domain: list[int | float]) -> float | None:
    import krippendorff

    if len(domain) < 2 or np.unique(data[~np.isnan(data)]).size < 2:
        return None
    return _safe(lambda: krippendorff.alpha(reliability_data=data, level_of_measurement=level, value_domain=domain))


def _icc_frame(x: np.ndarray, y: np.ndarray) -> Any:
    import pandas as pd

    n = x.size
    return pd.DataFrame(
        {"item": np.concatenate([np.arange(n), np.arange(n)]), "rater": ["a"] * n + ["b"] * n, "score": np.r_[x, y]}
    )


def _icc_row(x: np.ndarray, y: np.ndarray) -> Any:
    import pingouin

    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        table = pingouin.intraclass_corr(data=_icc_frame(x, y), targets="item", raters="rater", ratings="score")
    return table.set_index("Type").loc["ICC(A,1)"]


def _icc(x: np.ndarray, y: np.ndarray) -> float | None:
    if x.size < 2 or (np.unique(x).size < 2 and np.unique(y).size < 2):
        return None
    return _safe(lambda: _icc_row(x, y)["ICC"])


def pairwise_agreement(
    a: Sequence[Value],
    b: Sequence[Value],
    scale: Literal["binary", "ordinal"],
    resamples: int = 1000,
    seed: int = 0,
    *,
    labels: Sequence[float] | None = None,
    icc_ci: Literal["analytic", "bootstrap"] = "analytic",
) -> dict[str, Any]:
    """Agreement between two raters on the same items (position ``i`` of ``a`` and ``b`` is one item).

    Pairs where either value is ``None`` are dropped. Returns ``n`` (pairs used), ``scale``, ``confusion``
    (``labels`` and ``matrix``: rows are ``a``'s labels, columns ``b``'s), ``accuracy`` (share of identical
    labels), and for ``binary``: ``kappa``; for ``ordinal``: ``quadratic_kappa``, ``spearman``, ``icc``
    (ICC(A,1)) and ``krippendorff_ordinal``. Every statistic is a dict ``{value, ci_low, ci_high}`` (plus
    ``note`` when something is undefined or unusual); ``value`` is ``None`` for degenerate input.

    ``labels`` fixes the label set (e.g. ``[1, 2, 3, 4, 5]``); by default it is every integer between the
    smallest and largest observed value (or the distinct values when they are not integers).
    """
    if scale not in ("binary", "ordinal"):
        raise ValueError(f"scale must be 'binary' or 'ordinal', not {scale!r}")
    x, y = _pairs(a, b)
    n = int(x.size)
    domain = _domain(np.r_[x, y], labels)
    if scale == "binary" and labels is None and set(domain) <= {0, 1}:
        domain = [0, 1]
    out: dict[str, Any] = {
        "n": n,
        "scale": scale,
        "ci": {"level": CI_LEVEL, "method": "percentile bootstrap over items", "resamples": resamples, "seed": seed},
    }
    from sklearn.metrics import accuracy_score, confusion_matrix

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        matrix = confusion_matrix(x, y, labels=domain).tolist() if n else []
    out["confusion"] = {
        "labels": domain,
        "matrix": matrix,
        "rows": "first rater (a)",
        "columns": "second rater (b)",
    }
    if n < 2:
        note = f"needs at least 2 rated pairs, got {n}"
        keys = ["accuracy", "kappa"] if scale == "binary" else ["accuracy", *_ORDINAL]
        out.update({key: _none(note) for key in keys})
        return out

    def stat(fn: Callable[[np.ndarray, np.ndarray], float | None], undefined: str) -> Stat:
        return _stat(fn(x, y), lambda idx: fn(x[idx], y[idx]), n, resamples, seed, undefined)

    out["accuracy"] = stat(lambda u, v: _safe(lambda: accuracy_score(u, v)), "undefined")
    single = "undefined: both raters gave a single label to every item"
    if scale == "binary":
        out["kappa"] = stat(lambda u, v: _kappa(u, v, domain, None), single)
        return out

    out["quadratic_kappa"] = stat(lambda u, v: _kappa(u, v, domain, "quadratic"), single)
    out["spearman"] = stat(_spearman, "undefined: at least one rater gave the same value to every item")
    out["krippendorff_ordinal"] = stat(
        lambda u, v: _alpha(np.vstack([u, v]), "ordinal", domain), "undefined: only one value occurs in the ratings"
    )
    icc_undefined = "undefined: no variation between items"
    if icc_ci == "bootstrap":
        out["icc"] = stat(_icc, icc_undefined)
    else:
        point = _icc(x, y)
        if point is None:
            out["icc"] = _none(icc_undefined)
        else:
            low, high = (_finite(v) for v in _icc_row(x, y)["CI95"])
            out["icc"] = {
                "value": point,
                "ci_low": low,
                "ci_high": high,
                "note": "ICC(A,1); 95% interval from the F distribution (pingouin), not bootstrapped",
            }
    return out


_ORDINAL = ("quadratic_kappa", "spearman", "icc", "krippendorff_ordinal")


def inter_rater_alpha(
    ratings: Mapping[Any, Mapping[Any, Value]],
    level: Literal["nominal", "ordinal"],
    resamples: int = 1000,
    seed: int = 0,
    *,
    value_domain: Sequence[float] | None = None,
) -> dict[str, Any]:
    """Krippendorff's alpha among any number of raters, with missing ratings allowed.

    ``ratings`` maps item id -> rater id -> value (``None`` or an absent rater = not rated). Returns
    ``{value, ci_low, ci_high, n_items, n_raters}`` (plus ``note`` when degenerate): ``n_items`` counts the
    items with at least two ratings (the only ones alpha can use), ``n_raters`` the raters who rated any of them.
    The interval bootstraps items.
    """
    if level not in ("nominal", "ordinal"):
        raise ValueError(f"level must be 'nominal' or 'ordinal', not {level!r}")
    pairable = {
        item: {r: float(v) for r, v in row.items() if v is not None and _finite(v) is not None}
        for item, row in ratings.items()
    }
    pairable = {item: row for item, row in pairable.items() if len(row) >= 2}
    raters = sorted({r for row in pairable.values() for r in row}, key=str)
    items = list(pairable)
    counts = {"n_items": len(items), "n_raters": len(raters)}
    if len(items) < 2:
        return {**_none(f"needs at least 2 items rated by 2 or more raters, got {len(items)}"), **counts}
    index = {r: i for i, r in enumerate(raters)}
    data = np.full((len(raters), len(items)), np.nan)
    for j, item in enumerate(items):
        for rater, value in pairable[item].items():
            data[index[rater], j] = value
    domain = _domain(data[~np.isnan(data)], value_domain)
    stat = _stat(
        _alpha(data, level, domain),
        lambda idx: _alpha(data[:, idx], level, domain),
        len(items),
        resamples,
        seed,
        "undefined: only one value occurs in the ratings",
    )
    return {**stat, **counts}


__all__ = ["inter_rater_alpha", "pairwise_agreement"]
