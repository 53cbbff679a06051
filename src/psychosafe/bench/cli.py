"""``psychosafe bench``: XSTest, SORRY-Bench and downstream ability (typer only; heavy imports inside)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

bench_app = typer.Typer(
    help="Outside checks: XSTest over-refusal, SORRY-Bench fulfilment, downstream ability (lm-eval).",
    no_args_is_help=True,
)

ModelOpt = Annotated[str, typer.Option(help="'embedded' or an Inspect model spec (hf/..., vllm/...).")]
ModelArgs = Annotated[
    list[str] | None, typer.Option("-M", "--model-arg", help="Model argument key=value (repeatable).")
]
AdapterOpt = Annotated[
    Path | None,
    typer.Option(help="A LoRA adapter dir (PEFT) or merged model dir from `psychosafe finetune` (hf models)."),
]
ConditionOpt = Annotated[
    list[str] | None,
    typer.Option("--condition", help="baseline, psychosafe or none (no system prompt); repeatable."),
]
OutOpt = Annotated[Path, typer.Option(help="Output directory (re-run the same command to resume).")]


def _display() -> str:
    return os.environ.get("INSPECT_DISPLAY") or ("rich" if sys.stdout.isatty() else "none")


def _args(pairs: list[str] | None) -> dict[str, object]:
    from psychosafe.models.spec import parse_model_args

    return parse_model_args(pairs or [])


@bench_app.command("xstest")
def xstest(
    data: Annotated[str, typer.Option(help="xstest_prompts.csv or the Hub dataset id Paul/XSTest.")],
    out: OutOpt = Path("runs/bench/xstest"),
    model: ModelOpt = "embedded",
    model_arg: ModelArgs = None,
    condition: ConditionOpt = None,
    adapter: AdapterOpt = None,
    limit: Annotated[int | None, typer.Option(help="Prompts to run, spread over the prompt types.")] = None,
    classifier: Annotated[str, typer.Option(help="'offline' or an Inspect model spec (LLM judge).")] = "offline",
    max_tokens: Annotated[int, typer.Option(help="Generation limit per response.")] = 128,
    batch_size: Annotated[int, typer.Option(help="Concurrent generations.")] = 16,
    seed: Annotated[int, typer.Option(help="Seed of the prompt selection.")] = 0,
) -> None:
    """Over-refusal on safe prompts and refusal on unsafe ones -> OUT/xstest.json."""
    from psychosafe.bench.xstest import render, run_xstest

    results = run_xstest(
        data,
        out,
        model=model,
        model_args=_args(model_arg),
        conditions=condition or ["psychosafe"],
        adapter=adapter,
        limit=limit,
        classifier=classifier,
        max_tokens=max_tokens,
        batch_size=batch_size,
        seed=seed,
        display=_display(),
    )
    typer.echo(render(results))
    typer.echo(f"-> {out / 'xstest.json'}")


@bench_app.command("sorry-bench")
def sorry_bench(
    data: Annotated[
        str | None,
        typer.Option(help="Your question.jsonl (or its folder), or sorry-bench/sorry-bench-202406 with HF_TOKEN."),
    ] = None,
    out: OutOpt = Path("runs/bench/sorry_bench"),
    model: ModelOpt = "embedded",
    model_arg: ModelArgs = None,
    condition: ConditionOpt = None,
    adapter: AdapterOpt = None,
    style: Annotated[
        list[str] | None, typer.Option("--style", help="Prompt style: base (default) or a mutation; repeatable.")
    ] = None,
    limit: Annotated[int | None, typer.Option(help="First N questions.")] = None,
    judge: Annotated[
        str, typer.Option(help="'offline' (refusal detector) or an Inspect model spec (LLM judge, SORRY-Bench mode).")
    ] = "offline",
    judge_arg: Annotated[list[str] | None, typer.Option("--judge-arg", help="Judge model argument key=value.")] = None,
    version: Annotated[str, typer.Option(help="Dataset version for category names: 202406 or 202503.")] = "202406",
    categories: Annotated[
        Path | None, typer.Option(help="Category taxonomy CSV (default: sorry_bench_categories.csv nearby).")
    ] = None,
    max_tokens: Annotated[int, typer.Option(help="Generation limit per response.")] = 128,
    batch_size: Annotated[int, typer.Option(help="Concurrent generations.")] = 16,
) -> None:
    """Fulfilment of unsafe instructions overall, per category and per style -> OUT/sorry_bench.json."""
    from psychosafe.bench.sorry_bench import load_questions, render, run_sorry_bench

    load_questions(data, style)  # no data: the message on where to get it, before anything loads
    results = run_sorry_bench(
        data,
        out,
        model=model,
        model_args=_args(model_arg),
        conditions=condition or ["psychosafe"],
        adapter=adapter,
        styles=style,
        limit=limit,
        judge=judge,
        judge_args=_args(judge_arg),
        version=version,
        categories=categories,
        max_tokens=max_tokens,
        batch_size=batch_size,
        display=_display(),
    )
    typer.echo(render(results))
    typer.echo(f"-> {out / 'sorry_bench.json'}")


@bench_app.command("downstream")
def downstream(
    tasks: Annotated[str, typer.Option(help="Comma-separated: mmlu, mmlu_cloze, gsm8k, ifeval (or lm-eval names).")],
    out: OutOpt = Path("runs/bench/downstream"),
    model: ModelOpt = "embedded",
    model_arg: ModelArgs = None,
    adapter: AdapterOpt = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(help="Local copies (mmlu/test/*.csv, gsm8k/test.jsonl, ifeval/input_data.jsonl); else lm-eval's."),
    ] = None,
    limit: Annotated[int | None, typer.Option(help="Items per task (a fixed shuffle: a spread of the data).")] = None,
    condition: Annotated[
        str | None, typer.Option(help="Put this condition's system prompt before every request.")
    ] = None,
    batch_size: Annotated[int, typer.Option(help="lm-eval batch size.")] = 8,
    compare: Annotated[Path | None, typer.Option(help="A base run's directory: add the delta table.")] = None,
    chat_template: Annotated[
        bool, typer.Option(help="Format requests with the model's chat template (off for base models).")
    ] = True,
) -> None:
    """General ability through lm-evaluation-harness -> OUT/downstream.json."""
    from psychosafe.bench.downstream import render, run_downstream

    results = run_downstream(
        out,
        tasks,
        model=model,
        model_args=_args(model_arg),
        adapter=adapter,
        data_dir=data_dir,
        limit=limit,
        condition=condition,
        batch_size=batch_size,
        compare=compare,
        chat_template=chat_template,
    )
    typer.echo(render(results))
    typer.echo(f"-> {out / 'downstream.json'}")
