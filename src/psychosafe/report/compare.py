"""``psychosafe compare RUN_A RUN_B``: two runs on the same items (different models or settings), per condition
and dimension, B against A on the items both runs scored, with paired intervals and tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from psychosafe.errors import UserError
from psychosafe.report.build import MAIN_KEYS, load_run
from psychosafe.report.tables import LABELS, _rel, fmt_p, markdown_table


def compare_runs(
    run_a: Path,
    run_b: Path,
    conditions: list[str] | None = None,
    method: str = "wilcoxon",
    resamples: int | None = None,
    seed: int | None = None,
) -> dict[str, Any]:
    """Per shared condition: :func:`psychosafe.stats.compare.compare_paired` of B against A on shared risk items
    (every dimension, Holm across them) and of the refusal rate on shared benign items (over-refusal)."""
    from psychosafe.stats.compare import TEST_METHODS, compare_paired

    if method not in TEST_METHODS:
        raise UserError(f"unknown test {method!r}: choose from {', '.join(TEST_METHODS)}")
    a, b = load_run(run_a), load_run(run_b)
    shared_conditions = [c for c in a.conditions if c in b.conditions]
    if conditions:
        missing = [c for c in conditions if c not in shared_conditions]
        if missing:
            raise UserError(
                f"condition {missing[0]!r} is not in both runs; conditions in both: {', '.join(shared_conditions)}"
            )
        shared_conditions = list(conditions)
    if not shared_conditions:
        raise UserError(
            f"{run_a} ({', '.join(a.conditions)}) and {run_b} ({', '.join(b.conditions)}) share no condition"
        )
    resamples = resamples or a.resamples
    seed = a.seed if seed is None else seed
    notes = []
    if a.judge != b.judge:
        notes.append(f"the runs were judged by different judges ({a.judge} and {b.judge})")
    hash_a = (a.results.get("meta") or {}).get("rubric_hash")
    hash_b = (b.results.get("meta") or {}).get("rubric_hash")
    if hash_a != hash_b:
        notes.append(f"the runs used different rubric hashes ({hash_a} and {hash_b})")
    out: dict[str, Any] = {
        "run_a": str(run_a),
        "run_b": str(run_b),
        "model_a": (a.results.get("meta") or {}).get("model"),
        "model_b": (b.results.get("meta") or {}).get("model"),
        "judge_a": a.judge,
        "judge_b": b.judge,
        "method": method,
        "resamples": resamples,
        "seed": seed,
        "notes": notes,
        "conditions": {},
    }
    total = 0
    for c in shared_conditions:
        risk = compare_paired(a.values[c]["risk"], b.values[c]["risk"], MAIN_KEYS, resamples, seed, method)  # type: ignore[arg-type]
        benign = compare_paired(
            a.values[c]["benign"],
            b.values[c]["benign"],
            ("refusal",),
            resamples,
            seed,
            method,  # type: ignore[arg-type]
        )
        total += risk["n"] + benign["n"]
        out["conditions"][c] = {
            "risk": risk,
            "over_refusal": benign,
            "items": {
                "risk": {"a": len(a.values[c]["risk"]), "b": len(b.values[c]["risk"]), "shared": risk["n"]},
                "benign": {"a": len(a.values[c]["benign"]), "b": len(b.values[c]["benign"]), "shared": benign["n"]},
            },
        }
    if total == 0:
        raise UserError(
            f"{run_a} and {run_b} have no scored items in common: compare runs made on the same items "
            "(same split, domains, sample sizes and seed)"
        )
    return out


def comparison_rows(comparison: dict[str, Any], condition: str) -> tuple[list[str], list[list[str]]]:
    entry = comparison["conditions"][condition]
    method = "Wilcoxon" if comparison["method"] == "wilcoxon" else "permutation"
    header = ["dimension", "A", "B", "B - A", "B vs A (95% CI)", f"p ({method})", "p (Holm)"]

    def row(label: str, e: dict[str, Any], holm: bool = True) -> list[str]:
        f = lambda v: "n/a" if v is None else f"{v:.2f}"  # noqa: E731
        delta = "n/a" if e["delta"] is None else f"{e['delta']:+.2f}"
        return [
            label,
            f(e["mean_a"]),
            f(e["mean_b"]),
            delta,
            _rel(e["relative"]),
            fmt_p(e["test"]["p_value"]),
            fmt_p(e["p_holm"]) if holm else "",
        ]

    rows = [row(LABELS[k], entry["risk"]["keys"][k]) for k in MAIN_KEYS]
    rows.append(row("over-refusal on benign", entry["over_refusal"]["keys"]["refusal"], holm=False))
    return header, rows


def _items_line(comparison: dict[str, Any], condition: str) -> str:
    items = comparison["conditions"][condition]["items"]
    return (
        f"shared scored items: risk {items['risk']['shared']} (A {items['risk']['a']}, B {items['risk']['b']}), "
        f"benign {items['benign']['shared']} (A {items['benign']['a']}, B {items['benign']['b']})"
    )


def render_comparison_markdown(comparison: dict[str, Any]) -> str:
    out = [
        "# psychosafe compare",
        "",
        f"- A: `{comparison['run_a']}` (model `{comparison['model_a']}`, judge `{comparison['judge_a']}`)",
        f"- B: `{comparison['run_b']}` (model `{comparison['model_b']}`, judge `{comparison['judge_b']}`)",
        f"- paired bootstrap: {comparison['resamples']} resamples, seed {comparison['seed']}; p (Holm) across the "
        "rubric dimensions of each condition",
        *(f"- note: {n}" for n in comparison["notes"]),
        "",
    ]
    for condition in comparison["conditions"]:
        out += [f"## {condition}", "", _items_line(comparison, condition), ""]
        out += [markdown_table(*comparison_rows(comparison, condition)), ""]
    return "\n".join(out)


def print_comparison(comparison: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(f"A: {comparison['run_a']} (model {comparison['model_a']}, judge {comparison['judge_a']})")
    console.print(f"B: {comparison['run_b']} (model {comparison['model_b']}, judge {comparison['judge_b']})")
    for note in comparison["notes"]:
        console.print(f"note: {note}")
    for condition in comparison["conditions"]:
        header, rows = comparison_rows(comparison, condition)
        table = Table(title=f"{condition}: B vs A ({_items_line(comparison, condition)})")
        for i, col in enumerate(header):
            table.add_column(col, justify="left" if i == 0 else "right")
        for r in rows:
            table.add_row(*r)
        console.print(table)
