"""The results table (terminal and Markdown) from ``results.json``."""

from __future__ import annotations

from typing import Any

from psychosafe.run.results import REPORT_KEYS

LABELS = {
    "refusal": "refusal rate",
    "harmful_content": "harmful-content rate",
    "empathy": "empathy (1-5)",
    "grounding": "grounding (1-5)",
    "referral": "referral (1-5)",
    "relevance": "relevance (1-5)",
    "alternative": "alternative (1-5)",
    "overall": "overall (1-5)",
    "refusal_quality": "refusal quality (0-1)",
    "referral_rate": "referral rate",
}


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def _rel(entry: dict[str, Any] | None) -> str:
    if not entry or entry.get("value") is None:
        return "n/a"
    low, high = entry.get("ci_low"), entry.get("ci_high")
    ci = f" [{low:+.0%}, {high:+.0%}]" if low is not None and high is not None else ""
    return f"{entry['value']:+.1%}{ci}"


def main_rows(results: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    conditions = list(results["conditions"])
    others = [c for c in conditions if c != "baseline"]
    header = ["dimension", *conditions, *(f"{c} vs baseline (95% CI)" for c in others)]
    rows = []
    for key in REPORT_KEYS:
        row = [LABELS[key]]
        row += [_fmt(results["conditions"][c]["scores"][key]) for c in conditions]
        row += [_rel(results["relative_improvement"].get(c, {}).get(key)) for c in others]
        rows.append(row)
    over = (
        ["over-refusal on benign"]
        + [_fmt(results["conditions"][c]["over_refusal"]["rate"]) for c in conditions]
        + ["" for _ in others]
    )
    rows.append(over)
    n_row = (
        ["n (risk / benign)"]
        + [f"{results['conditions'][c]['n']} / {results['conditions'][c]['over_refusal']['n']}" for c in conditions]
        + ["" for _ in others]
    )
    rows.append(n_row)
    return header, rows


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def domain_rows(results: dict[str, Any], key: str = "refusal_quality") -> tuple[list[str], list[list[str]]]:
    conditions = list(results["conditions"])
    domains = sorted({d for c in conditions for d in results["conditions"][c]["by_domain"]})
    header = ["domain", *conditions]
    rows = []
    for d in domains:
        row = [d]
        for c in conditions:
            entry = results["conditions"][c]["by_domain"].get(d)
            row.append(_fmt(entry["scores"][key]) if entry else "n/a")
        rows.append(row)
    return header, rows


def render_markdown(results: dict[str, Any]) -> str:
    header, rows = main_rows(results)
    dh, drows = domain_rows(results)
    meta = results.get("meta", {})
    unscored = ", ".join(f"{c}: {v['unscored']}" for c, v in results["conditions"].items())
    return "\n".join(
        [
            "# psychosafe run report",
            "",
            f"- profile: `{meta.get('profile')}`  model: `{meta.get('model')}`  judge: `{meta.get('judge')}`",
            f"- rubric: {meta.get('rubric_version')} (hash `{meta.get('rubric_hash')}`); unscored items: {unscored}",
            "",
            "## Risk items: conditions x rubric dimensions",
            "",
            "Binary dimensions are rates (0-1), scales are means (1-5), refusal quality is 0-1 (rubric).",
            "Relative improvement over `baseline` with a paired-bootstrap 95% interval over items.",
            "",
            markdown_table(header, rows),
            "",
            "## Refusal quality by domain",
            "",
            markdown_table(dh, drows),
            "",
        ]
    )


def print_table(results: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    header, rows = main_rows(results)
    table = Table(title="psychosafe: baseline vs conditions (risk items)")
    for i, col in enumerate(header):
        table.add_column(col, justify="left" if i == 0 else "right")
    for row in rows:
        table.add_row(*row)
    Console().print(table)


# --- rows of the full report (report.md and report.html share them) ---

RATE_LABELS = {
    "refusal": "refusal rate (risk)",
    "referral": "referral rate (risk, referral >= 4)",
    "harmful_content": "harmful-content rate (risk)",
    "over_refusal": "over-refusal (benign)",
}


def fmt_interval(entry: dict[str, Any] | None, value: str = "mean", digits: int = 2) -> str:
    """``0.40 [0.12, 0.77]`` (or ``n/a``)."""
    if not entry or entry.get(value) is None:
        return "n/a"
    low, high = entry.get("ci_low"), entry.get("ci_high")
    ci = f" [{low:.{digits}f}, {high:.{digits}f}]" if low is not None and high is not None else ""
    return f"{entry[value]:.{digits}f}{ci}"


def fmt_p(value: float | None) -> str:
    if value is None:
        return "n/a"
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def report_main_rows(data: Any) -> tuple[list[str], list[list[str]]]:
    """Conditions x dimensions (risk items): mean [95% CI] per condition, and per other condition the relative
    improvement over baseline [paired-bootstrap 95% CI], the paired test's p and its Holm-corrected p."""
    conditions = data.run.conditions
    others = list(data.comparisons)
    method = "Wilcoxon" if data.test_method == "wilcoxon" else "permutation"
    header = ["dimension", *conditions]
    for c in others:
        header += [f"{c} vs baseline (95% CI)", f"p ({method})", "p (Holm)"]
    rows = []
    for key in REPORT_KEYS:
        row = [LABELS[key], *(fmt_interval(data.describe[c][key]) for c in conditions)]
        for c in others:
            entry = data.comparisons[c]["keys"][key]
            row += [_rel(entry["relative"]), fmt_p(entry["test"]["p_value"]), fmt_p(entry["p_holm"])]
        rows.append(row)
    blank = ["" for _ in range(3 * len(others))]
    rows.append(
        ["over-refusal on benign", *(fmt_interval(data.rates[c]["over_refusal"], "rate") for c in conditions), *blank]
    )
    rows.append(
        [
            "n (risk / benign)",
            *(f"{data.describe[c]['refusal']['n']} / {data.rates[c]['over_refusal']['n']}" for c in conditions),
            *blank,
        ]
    )
    return header, rows


def report_rate_rows(data: Any) -> tuple[list[str], list[list[str]]]:
    header = ["condition", *RATE_LABELS.values()]
    rows = [
        [c, *(fmt_interval(data.rates[c][k], "rate") + f" (n={data.rates[c][k]['n']})" for k in RATE_LABELS)]
        for c in data.run.conditions
    ]
    return header, rows


def report_domain_rows(data: Any, key: str) -> tuple[list[str], list[list[str]]]:
    conditions = data.run.conditions
    header = ["domain", "n", *conditions]
    rows = []
    for domain, per in data.domains.items():
        ns = sorted({str(per[c]["n"]) for c in conditions if c in per})
        rows.append([domain, "/".join(ns), *(_fmt(per.get(c, {}).get(key)) for c in conditions)])
    return header, rows


def report_judge_rows(data: Any) -> list[tuple[str, str]]:
    run = data.run
    meta = run.results.get("meta") or {}
    rows = [
        ("judge", str(run.judge)),
        ("judge settings", str(run.config.get("judge_args") or {})),
        (
            "rubric",
            f"{meta.get('rubric_version', run.manifest.get('rubric_version'))} "
            f"(hash {meta.get('rubric_hash', run.manifest.get('rubric_hash'))})",
        ),
        ("rubric versions in judgments.jsonl", ", ".join(run.rubric_versions) or "n/a"),
        ("unscored items (left out of every mean)", ", ".join(f"{c}: {n}" for c, n in run.unscored.items())),
        (
            "verdicts in judgments.jsonl",
            "; ".join(f"{j}: {v['scored']} scored, {v['unscored']} unscored" for j, v in run.judgments_by_judge.items())
            or "none",
        ),
        ("bootstrap", f"{run.resamples} resamples, seed {run.seed}"),
    ]
    if run.unknown_ids:
        rows.append(("item ids not in the corpus (left out)", ", ".join(run.unknown_ids[:20])))
    return rows
