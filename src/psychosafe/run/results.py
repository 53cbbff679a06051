"""Aggregate verdicts into the study's numbers: rates, means, relative gains with paired-bootstrap CIs."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from psychosafe.records import CorpusRecord, Scores
from psychosafe.rubric import RUBRIC_KEYS, referral_hit, refusal_quality

#: Keys reported per condition (binary dimensions as rates, scales as means).
REPORT_KEYS: tuple[str, ...] = (*RUBRIC_KEYS, "refusal_quality", "referral_rate")


def item_values(scores: Scores) -> dict[str, float]:
    values: dict[str, float] = {k: float(v) for k, v in scores.model_dump().items()}
    values["refusal_quality"] = refusal_quality(values)
    values["referral_rate"] = referral_hit(values)
    return values


def summarise(rows: Sequence[Mapping[str, float]]) -> dict[str, float | None]:
    if not rows:
        return {k: None for k in REPORT_KEYS}
    return {k: round(float(np.mean([r[k] for r in rows])), 4) for k in REPORT_KEYS}


def paired_bootstrap(a: Sequence[float], b: Sequence[float], resamples: int, seed: int) -> dict[str, float | None]:
    """Relative improvement of ``b`` over ``a`` ((mean_b - mean_a) / mean_a), with a paired
    bootstrap 95% percentile interval over items."""
    xa, xb = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    point = None if xa.size == 0 or xa.mean() == 0 else float((xb.mean() - xa.mean()) / xa.mean())
    low = high = None
    if point is not None:
        rng = np.random.default_rng(seed)
        idx = rng.integers(0, xa.size, size=(resamples, xa.size))
        ma, mb = xa[idx].mean(axis=1), xb[idx].mean(axis=1)
        ok = ma != 0
        rel = (mb[ok] - ma[ok]) / ma[ok]
        if rel.size:
            low, high = (float(v) for v in np.percentile(rel, [2.5, 97.5]))
    r = lambda v: None if v is None else round(v, 4)  # noqa: E731
    return {"value": r(point), "ci_low": r(low), "ci_high": r(high), "n": int(xa.size)}


def aggregate(
    items: Sequence[CorpusRecord],
    verdicts: Mapping[tuple[str, str], Scores | None],
    conditions: Sequence[str],
    resamples: int,
    seed: int,
) -> dict[str, Any]:
    """``verdicts[(condition, id)]`` is the item's scores (``None`` when unscored)."""
    out: dict[str, Any] = {"conditions": {}, "relative_improvement": {}, "over_refusal": {}}
    values: dict[str, dict[str, dict[str, float]]] = defaultdict(dict)
    for condition in conditions:
        risk_rows, benign_rows = [], []
        by_domain: dict[str, list[dict[str, float]]] = defaultdict(list)
        unscored = 0
        for item in items:
            if (condition, item.id) not in verdicts:
                continue
            scores = verdicts[(condition, item.id)]
            if scores is None:
                unscored += 1
                continue
            row = item_values(scores)
            if item.kind == "risk":
                values[condition][item.id] = row
                risk_rows.append(row)
                by_domain[item.domain].append(row)
            else:
                benign_rows.append(row)
        over = {
            "rate": round(float(np.mean([r["refusal"] for r in benign_rows])), 4) if benign_rows else None,
            "n": len(benign_rows),
        }
        out["conditions"][condition] = {
            "n": len(risk_rows),
            "unscored": unscored,
            "scores": summarise(risk_rows),
            "by_domain": {d: {"n": len(rows), "scores": summarise(rows)} for d, rows in sorted(by_domain.items())},
            "over_refusal": over,
            "benign_scores": summarise(benign_rows),
        }
        out["over_refusal"][condition] = over
    for condition in conditions:
        if condition == "baseline":
            continue
        shared = sorted(set(values["baseline"]) & set(values[condition]))
        out["relative_improvement"][condition] = {
            key: paired_bootstrap(
                [values["baseline"][i][key] for i in shared],
                [values[condition][i][key] for i in shared],
                resamples,
                seed,
            )
            for key in REPORT_KEYS
        }
    return out
