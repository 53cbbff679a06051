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
