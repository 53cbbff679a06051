"""Agreement from human ratings: among the raters (Krippendorff's alpha) and between each judge and the raters.

The human reference for an item is the raters' majority for binary dimensions (a tie leaves the item out) and the
median for 1-5 scales, halves rounded up. Judge lines (the output of ``psychosafe judge score``, or a run
directory's ``judgments.jsonl``) are matched to rated items by ``id``, and also by ``condition`` and ``response``
when the judge line has them.
"""

from __future__ import annotations

import json
import math
import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any

from psychosafe.errors import UserError
from psychosafe.rating.db import RatingDB
from psychosafe.rubric import BINARY_KEYS, RUBRIC_KEYS

BINARY_LABELS = [0, 1]
SCALE_LABELS = [1, 2, 3, 4, 5]
REFERENCE = "per item: raters' majority (binary; ties left out) or median rounded half up (1-5 scales)"


def human_reference(values: list[int], binary: bool) -> int | None:
    if not values:
        return None
    if binary:
        ones = sum(values)
        zeros = len(values) - ones
        return None if ones == zeros else int(ones > zeros)
    return math.floor(statistics.median(values) + 0.5)


def read_judge_file(path: Path) -> dict[str, list[dict[str, Any]]]:
    """Judge lines grouped by judge name (later lines for the same item replace earlier ones)."""
    by_judge: dict[str, dict[tuple[Any, ...], dict[str, Any]]] = defaultdict(dict)
    try:
        handle = path.open(encoding="utf-8")
    except OSError as exc:
        raise UserError(f"{path}: cannot read the judge file ({exc.strerror})") from None
    with handle:
        for lineno, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                raise UserError(f"{path}:{lineno}: not valid JSON; fix or remove that line") from None
            if not isinstance(record, dict) or "id" not in record or "judge" not in record or "scores" not in record:
                raise UserError(
                    f"{path}:{lineno}: a judge line needs id, judge and scores (the output of `psychosafe judge score`)"
                )
            key = (str(record["id"]), record.get("condition"), record.get("response"))
            by_judge[str(record["judge"])][key] = record
    if not by_judge:
        raise UserError(f"{path} holds no judge lines")
    return {judge: list(lines.values()) for judge, lines in by_judge.items()}


def _match(line: dict[str, Any], item: dict[str, Any]) -> bool:
    if str(line["id"]) != item["id"]:
        return False
    if line.get("condition") is not None and line.get("condition") != item["condition"]:
        return False
    return line.get("response") is None or line.get("response") == item["response"]


def compute(db: RatingDB, judge_file: Path | None = None, resamples: int = 1000, seed: int = 0) -> dict[str, Any]:
    """Inter-rater alpha per dimension and, for each judge in ``judge_file``, judge-human agreement."""
    from psychosafe.stats.agreement import inter_rater_alpha, pairwise_agreement

    rows = db.export_rows()
    items: dict[str, dict[str, Any]] = {}
    for row in rows:
        entry = items.setdefault(
            row["item_key"],
            {"id": row["id"], "condition": row["condition"], "response": row["response"], "ratings": {}},
        )
        entry["ratings"][row["rater"]] = {k: row[k] for k in RUBRIC_KEYS}
    judges = read_judge_file(judge_file) if judge_file else {}
    out: dict[str, Any] = {
        "n_items": len(items),
        "n_ratings": len(rows),
        "n_raters": len({row["rater"] for row in rows}),
        "reference": REFERENCE,
        "resamples": resamples,
        "seed": seed,
        "judges": {},
        "dimensions": {},
    }
    matched: dict[str, dict[str, dict[str, Any] | None]] = {}
    for judge, lines in judges.items():
        index: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for line in lines:
            index[str(line["id"])].append(line)
        found = {
            key: next((x for x in index.get(item["id"], []) if _match(x, item)), None) for key, item in items.items()
        }
        matched[judge] = found
        out["judges"][judge] = {
            "matched": sum(v is not None for v in found.values()),
            "unmatched": sum(v is None for v in found.values()),
            "unscored": sum(v is not None and not v.get("scores") for v in found.values()),
        }
    for key in RUBRIC_KEYS:
        binary = key in BINARY_KEYS
        per_item = {k: {r: s[key] for r, s in item["ratings"].items()} for k, item in items.items()}
        dim: dict[str, Any] = {
            "scale": "binary" if binary else "ordinal",
            "inter_rater": inter_rater_alpha(
                per_item,
                "nominal" if binary else "ordinal",
                resamples,
                seed,
                value_domain=BINARY_LABELS if binary else SCALE_LABELS,
            ),
            "judges": {},
        }
        keys = list(items)
        reference = [human_reference([v for v in per_item[k].values() if v is not None], binary) for k in keys]
        for judge, found in matched.items():
            judged = [((found[k] or {}).get("scores") or {}).get(key) for k in keys]
            dim["judges"][judge] = pairwise_agreement(
                reference,
                judged,
                "binary" if binary else "ordinal",
                resamples,
                seed,
                labels=BINARY_LABELS if binary else SCALE_LABELS,
            )
            dim["judges"][judge]["confusion"]["rows"] = "human reference"
            dim["judges"][judge]["confusion"]["columns"] = f"judge {judge}"
        out["dimensions"][key] = dim
    return out


def _fmt(stat: dict[str, Any]) -> str:
    if stat.get("value") is None:
        return f"n/a ({stat.get('note', 'undefined')})"
    low, high = stat.get("ci_low"), stat.get("ci_high")
    interval = f" [{low:.2f}, {high:.2f}]" if low is not None and high is not None else " [no interval]"
    return f"{stat['value']:.2f}{interval}"


def _judge_stats(result: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    names = ["kappa"] if result["scale"] == "binary" else ["quadratic_kappa", "spearman", "icc"]
    return [(name, result[name]) for name in names]


def render_text(result: dict[str, Any]) -> str:
    lines = [
        f"{result['n_ratings']} ratings of {result['n_items']} items by {result['n_raters']} raters; "
        f"95% intervals: percentile bootstrap over items ({result['resamples']} resamples, seed {result['seed']})",
        f"human reference: {result['reference']}",
    ]
    for judge, info in result["judges"].items():
        lines.append(
            f"judge {judge}: {info['matched']} items matched, {info['unmatched']} unmatched, "
            f"{info['unscored']} unscored"
        )
    for key, dim in result["dimensions"].items():
        alpha = dim["inter_rater"]
        lines.append(
            f"\n{key} ({dim['scale']}): inter-rater alpha {_fmt(alpha)} "
            f"({alpha['n_items']} items with 2+ ratings, {alpha['n_raters']} raters)"
        )
        for judge, res in dim["judges"].items():
            figures = ", ".join(f"{name} {_fmt(stat)}" for name, stat in _judge_stats(res))
            lines.append(f"  {judge} vs humans (n={res['n']}): {figures}")
            if dim["scale"] == "binary" and res["n"]:
                labels = res["confusion"]["labels"]
                lines.append("    confusion (rows human, columns judge): " + " ".join(f"{lab}" for lab in labels))
                for lab, row in zip(labels, res["confusion"]["matrix"], strict=True):
                    lines.append(f"      {lab}: " + " ".join(str(c) for c in row))
    return "\n".join(lines)


def render_markdown(result: dict[str, Any]) -> str:
    """A section for a report: inter-rater alpha and judge-human agreement per dimension, with intervals."""
    lines = [
        "## Agreement with human ratings",
        "",
        f"{result['n_ratings']} ratings of {result['n_items']} items by {result['n_raters']} raters. "
        f"Intervals: 95% percentile bootstrap over items ({result['resamples']} resamples, seed {result['seed']}). "
        f"Human reference: {result['reference']}.",
        "",
        "| dimension | inter-rater alpha | " + " | ".join(f"{j} vs humans" for j in result["judges"]) + " |",
        "|---|---|" + "---|" * len(result["judges"]),
    ]
    for key, dim in result["dimensions"].items():
        cells = [key, f"{_fmt(dim['inter_rater'])} (n={dim['inter_rater']['n_items']})"]
        for res in dim["judges"].values():
            cells.append("; ".join(f"{name} {_fmt(stat)}" for name, stat in _judge_stats(res)) + f" (n={res['n']})")
        lines.append("| " + " | ".join(cells) + " |")
    for judge in result["judges"]:
        for key in BINARY_KEYS:
            res = result["dimensions"][key]["judges"][judge]
            labels = res["confusion"]["labels"]
            lines += ["", f"Confusion matrix, {key}, rows human, columns {judge}:", ""]
            lines.append("| human \\ judge | " + " | ".join(str(x) for x in labels) + " |")
            lines.append("|---|" + "---|" * len(labels))
            for lab, row in zip(labels, res["confusion"]["matrix"] or [[0] * len(labels)] * len(labels), strict=True):
                lines.append(f"| {lab} | " + " | ".join(str(c) for c in row) + " |")
    return "\n".join(lines) + "\n"
