"""``psychosafe judge validate``: agreement of a judge with gold labels.

Two kinds of gold file:
- JSONL in the ``judge score`` input format plus a ``labels`` object with rubric keys (e.g. the project's own
  gold set, ``psychosafe.data.gold``): per-dimension agreement (kappa for the binary dimensions; quadratic
  kappa, Spearman, ICC and Krippendorff's ordinal alpha for the scales) with bootstrap 95% intervals.
- XSTest completion CSVs (columns ``prompt``, ``completion``, ``final_label``): the judge's XSTest mode,
  3-class accuracy and binary refusal agreement (full or partial refusal vs compliance).
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from psychosafe.errors import UserError
from psychosafe.records import JudgeInput, read_jsonl
from psychosafe.rubric import BINARY_KEYS, RUBRIC_KEYS

XSTEST_COLUMNS = {"prompt", "completion", "final_label"}
COMPLIANCE = "1_full_compliance"


class GoldItem(JudgeInput):
    model_config = ConfigDict(extra="allow")

    labels: dict[str, float]


class XSTestRow(BaseModel):
    prompt: str
    completion: str
    final_label: str


def is_xstest_file(path: Path) -> bool:
    if path.suffix.lower() != ".csv":
        return False
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            header = next(csv.reader(handle), [])
    except OSError as exc:
        raise UserError(f"{path}: cannot read ({exc.strerror})") from None
    if not set(header) >= XSTEST_COLUMNS:
        raise UserError(f"{path}: a CSV gold file needs the XSTest columns {', '.join(sorted(XSTEST_COLUMNS))}")
    return True


def read_xstest(path: Path) -> list[XSTestRow]:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = [XSTestRow(**{k: r.get(k) or "" for k in XSTEST_COLUMNS}) for r in csv.DictReader(handle)]
    bad = [i + 2 for i, r in enumerate(rows) if not r.final_label.startswith(("1_", "2_", "3_"))]
    if bad:
        raise UserError(f"{path}:{bad[0]}: final_label must be 1_full_compliance, 2_full_refusal or 3_partial_refusal")
    return rows


def validate_gold(path: Path, judge: Any, resamples: int = 1000, seed: int = 0) -> dict[str, Any]:
    from psychosafe.stats.agreement import pairwise_agreement

    items = list(read_jsonl(path, GoldItem))
    for lineno, item in enumerate(items, start=1):
        missing = [k for k in RUBRIC_KEYS if k not in item.labels]
        if missing:
            raise UserError(f"{path}: item {item.id!r} (record {lineno}): labels lack {', '.join(missing)}")
    verdicts = judge.score(items)
    unscored = sum(v.scores is None for v in verdicts)
    dimensions: dict[str, Any] = {}
    for key in RUBRIC_KEYS:
        gold = [item.labels[key] for item in items]
        pred = [getattr(v.scores, key) if v.scores is not None else None for v in verdicts]
        scale: Literal["binary", "ordinal"] = "binary" if key in BINARY_KEYS else "ordinal"
        labels = [0, 1] if scale == "binary" else [1, 2, 3, 4, 5]
        dimensions[key] = pairwise_agreement(gold, pred, scale, resamples, seed, labels=labels)
    return {
        "kind": "gold",
        "file": str(path),
        "judge": judge.name,
        "n": len(items),
        "unscored": unscored,
        "dimensions": dimensions,
    }


def validate_xstest(paths: Sequence[Path], judge: Any, resamples: int = 1000, seed: int = 0) -> dict[str, Any]:
    from psychosafe.stats.agreement import pairwise_agreement

    per_file: dict[str, Any] = {}
    pooled_gold: list[str] = []
    pooled_pred: list[str | None] = []

    def summary(gold: list[str], pred: list[str | None]) -> dict[str, Any]:
        binary = pairwise_agreement(
            [int(g != COMPLIANCE) for g in gold],
            [None if p is None else int(p != COMPLIANCE) for p in pred],
            "binary",
            resamples,
            seed,
            labels=[0, 1],
        )
        classes = ["1_full_compliance", "2_full_refusal", "3_partial_refusal"]
        three = pairwise_agreement(
            [classes.index(g) for g in gold],
            [None if p is None else classes.index(p) for p in pred],
            "binary",
            resamples,
            seed,
            labels=[0, 1, 2],
        )
        return {
            "n": len(gold),
            "unscored": sum(p is None for p in pred),
            "binary_kappa": binary["kappa"],
            "binary_accuracy": binary["accuracy"],
            "binary_confusion": binary["confusion"],
            "three_class_accuracy": three["accuracy"],
            "three_class_confusion": {**three["confusion"], "labels": classes},
        }

    for path in paths:
        rows = read_xstest(path)
        pred = judge.xstest([(r.prompt, r.completion) for r in rows])
        gold = [r.final_label for r in rows]
        per_file[path.stem] = summary(gold, pred)
        pooled_gold += gold
        pooled_pred += pred
    return {"kind": "xstest", "judge": judge.name, "files": per_file, "pooled": summary(pooled_gold, pooled_pred)}


def _fmt(stat: dict[str, Any] | None) -> str:
    if not stat or stat.get("value") is None:
        return "n/a" + (f" ({stat['note']})" if stat and stat.get("note") else "")
    ci = ""
    if stat.get("ci_low") is not None:
        ci = f" [{stat['ci_low']:.2f}, {stat['ci_high']:.2f}]"
    return f"{stat['value']:.3f}{ci}"


def render(result: dict[str, Any]) -> str:
    lines = [f"judge: {result['judge']}"]
    if result["kind"] == "gold":
        lines.append(f"gold: {result['file']} (n={result['n']}, unscored={result['unscored']})")
        for key, d in result["dimensions"].items():
            if "kappa" in d:
                lines.append(
                    f"  {key:16s} kappa {_fmt(d['kappa'])}  accuracy {_fmt(d['accuracy'])}  "
                    f"confusion {d['confusion']['matrix']} (rows gold, columns judge)"
                )
            else:
                lines.append(
                    f"  {key:16s} quadratic kappa {_fmt(d['quadratic_kappa'])}  spearman "
                    f"{_fmt(d['spearman'])}  icc {_fmt(d['icc'])}  alpha {_fmt(d['krippendorff_ordinal'])}"
                )
        return "\n".join(lines)
    for name, s in [*result["files"].items(), ("pooled", result["pooled"])]:
        lines.append(
            f"  {name:32s} n={s['n']:4d}  binary kappa {_fmt(s['binary_kappa'])}  binary accuracy "
            f"{_fmt(s['binary_accuracy'])}  3-class accuracy {_fmt(s['three_class_accuracy'])}"
        )
    return "\n".join(lines)
