"""``psychosafe corpus``: validate, stats, export, generate, check-drafts, assemble (heavy imports inside)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

corpus_app = typer.Typer(help="The corpus: validate, count, export, grow with a teacher model.", no_args_is_help=True)

PathOption = Annotated[
    Path | None, typer.Option("--path", help="Corpus directory of <domain>.jsonl files (default: the shipped corpus).")
]
ResourcesOption = Annotated[
    Path | None, typer.Option("--resources", help="Your own resource file (extends/overrides the built-in directory).")
]


def _records(path: Path | None) -> tuple[list, str]:
    from psychosafe.corpus.load import load_corpus
    from psychosafe.corpus.validate import corpus_paths, default_corpus_dir

    root = path or default_corpus_dir()
    return list(load_corpus(corpus_paths(root))), str(root)


@corpus_app.command("validate")
def validate_cmd(
    path: PathOption = None,
    resources: ResourcesOption = None,
    thresholds: Annotated[
        Path | None, typer.Option("--thresholds", help="YAML overriding rule thresholds (see docs/corpus.md).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of the list of problems.")] = False,
) -> None:
    """Check every corpus rule; list the problems (file:line [rule] message); exit 1 if any."""
    import json

    from psychosafe.corpus.validate import load_thresholds, validate

    report = validate(path, load_thresholds(thresholds), resources)
    typer.echo(json.dumps(report.to_json(), indent=2) if as_json else report.render())
    if not report.ok:
        raise typer.Exit(1)


@corpus_app.command("stats")
def stats_cmd(
    path: PathOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of Markdown tables.")] = False,
) -> None:
    """Counts by split, domain, subcategory, severity, intent, kind, locale and turns."""
    import json

    from psychosafe.corpus.stats import corpus_stats, render_markdown

    records, _ = _records(path)
    stats = corpus_stats(records)
    typer.echo(json.dumps(stats, indent=2) if as_json else render_markdown(stats).rstrip())


@corpus_app.command("export")
def export_cmd(
    fmt: Annotated[str, typer.Option("--format", help="hf (datasets save_to_disk), jsonl, or chat (TRL messages).")],
    out: Annotated[Path, typer.Option("--out", help="Output directory (must be new or empty).")],
    path: PathOption = None,
    system: Annotated[
        str, typer.Option(help="chat only: system prompt condition (psychosafe, baseline) or 'none'.")
    ] = "psychosafe",
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Write into a non-empty --out.")] = False,
) -> None:
    """Export train and validation splits for Hugging Face datasets or TRL."""
    from psychosafe.corpus.export import export

    records, source = _records(path)
    manifest = export(records, fmt, out, system=system, overwrite=overwrite, source=source)
    counts = ", ".join(f"{k} {v}" for k, v in manifest["counts"].items())
    typer.echo(f"exported {fmt}: {counts} -> {out}")


@corpus_app.command("generate")
def generate_cmd(
    prompts: Annotated[Path, typer.Option("--prompts", help="JSONL of corpus records without a response.")],
    teacher: Annotated[str, typer.Option("--teacher", help="'embedded' or any Inspect model spec.")],
    out: Annotated[Path, typer.Option("--out", help="JSONL of kept pairs (appends; re-run to resume).")],
    model_arg: Annotated[
        list[str] | None, typer.Option("-M", "--model-arg", help="Teacher model argument key=value (repeatable).")
    ] = None,
    resources: ResourcesOption = None,
    max_tokens: Annotated[int, typer.Option(help="Maximum tokens per draft.")] = 512,
    temperature: Annotated[float | None, typer.Option(help="Sampling temperature (provider default if unset).")] = None,
    batch_size: Annotated[int, typer.Option(help="Drafts generated concurrently.")] = 8,
    limit: Annotated[int | None, typer.Option(help="Only the first N prompts.")] = None,
) -> None:
    """A teacher drafts responses under the PsychoSafe prompt; only drafts the judge passes are kept."""
    from psychosafe.corpus.generate import generate, verdicts_path
    from psychosafe.models.spec import parse_model_args

    summary = generate(
        prompts,
        teacher,
        out,
        model_args=parse_model_args(model_arg or []),
        resources=resources,
        max_tokens=max_tokens,
        temperature=temperature,
        batch_size=batch_size,
        limit=limit,
    )
    typer.echo(
        f"drafted {summary.attempted}: kept {summary.kept}, rejected {summary.rejected}, "
        f"already done {summary.skipped} -> {out} (verdicts: {verdicts_path(out)})"
    )


@corpus_app.command("check-drafts")
def check_drafts_cmd(
    paths: Annotated[list[Path], typer.Argument(help="Draft JSONL files (see docs/corpus.md, 'How it was built').")],
    max_reuse: Annotated[int, typer.Option(help="Most drafts one authored sentence may appear in.")] = 4,
) -> None:
    """List what is wrong with corpus drafts (file:line: problem) and count them per cell; exit 1 if anything."""
    from psychosafe.corpus.drafts import check_drafts

    result = check_drafts(paths, max_reuse)
    typer.echo(result.render())
    if result.problems:
        raise typer.Exit(1)


@corpus_app.command("assemble")
def assemble_cmd(
    drafts: Annotated[Path, typer.Argument(help="Folder of draft JSONL files.")],
    out: Annotated[Path, typer.Option("--out", help="Corpus directory to write (<domain>.jsonl).")],
    seed_dir: Annotated[
        Path | None, typer.Option(help="Hand-written records kept as they are (default: the shipped corpus).")
    ] = None,
    validation_risk: Annotated[int, typer.Option(help="Validation risk items per domain (stratified).")] = 100,
    validation_benign: Annotated[int, typer.Option(help="Validation benign items per domain.")] = 32,
) -> None:
    """Drafts + seed -> corpus files: referrals from the directory, stratified validation split, no overlap."""
    import json

    from psychosafe.corpus.drafts import assemble
    from psychosafe.corpus.validate import default_corpus_dir
    from psychosafe.errors import UserError

    files = sorted(drafts.glob("*.jsonl"))
    if not files:
        raise UserError(f"{drafts}: no draft files (*.jsonl) there")
    counts = assemble(files, seed_dir or default_corpus_dir(), out, validation_risk, validation_benign)
    typer.echo(json.dumps(counts, indent=2))
