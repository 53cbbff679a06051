"""``psychosafe report`` and ``psychosafe compare`` (registered in :mod:`psychosafe.cli`); heavy imports inside."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from psychosafe.errors import UserError

FORMATS = {"html": ("html",), "md": ("md",), "both": ("md", "html")}


def report(
    run_dir: Annotated[Path, typer.Argument(help="A run directory made by `psychosafe run --out DIR`.")],
    format: Annotated[str, typer.Option("--format", help="html, md or both.")] = "both",
    test: Annotated[str, typer.Option(help="Paired test per dimension: wilcoxon or permutation.")] = "wilcoxon",
) -> None:
    """Write report.html (self-contained) and/or report.md, with plots in plots/, into a run directory."""
    from psychosafe.report.build import build_report, require_report_extra

    require_report_extra()
    from psychosafe.stats.compare import TEST_METHODS

    if format not in FORMATS:
        raise UserError(f"unknown --format {format!r}: choose html, md or both")
    if test not in TEST_METHODS:
        raise UserError(f"unknown --test {test!r}: choose from {', '.join(TEST_METHODS)}")
    for path in build_report(run_dir, FORMATS[format], test_method=test):
        typer.echo(str(path))


def compare(
    run_a: Annotated[Path, typer.Argument(help="Run directory A (the reference).")],
    run_b: Annotated[Path, typer.Argument(help="Run directory B (compared against A).")],
    condition: Annotated[
        list[str] | None, typer.Option("--condition", help="Only this condition (repeatable); default: all shared.")
    ] = None,
    test: Annotated[str, typer.Option(help="Paired test per dimension: wilcoxon or permutation.")] = "wilcoxon",
    resamples: Annotated[int | None, typer.Option(help="Bootstrap resamples (default: run A's config).")] = None,
    seed: Annotated[int | None, typer.Option(help="Bootstrap seed (default: run A's config).")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Also write it to FILE.json or FILE.md.")] = None,
) -> None:
    """Compare two runs on their shared items: per-dimension deltas with paired CIs and tests (B vs A)."""
    from psychosafe.report.build import require_report_extra

    require_report_extra(("scipy", "statsmodels"))
    from psychosafe.report.compare import compare_runs, print_comparison, render_comparison_markdown

    if out is not None and out.suffix not in (".json", ".md"):
        raise UserError(f"--out {out}: use a .json or .md file name")
    if resamples is not None and resamples < 100:
        raise UserError(f"--resamples {resamples}: use at least 100")
    comparison = compare_runs(run_a, run_b, condition or None, test, resamples, seed)
    print_comparison(comparison)
    if out is not None:
        text = json.dumps(comparison, indent=2) if out.suffix == ".json" else render_comparison_markdown(comparison)
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise UserError(f"cannot write {out} ({exc.strerror}): choose another --out") from None
        typer.echo(f"comparison written to {out}")
