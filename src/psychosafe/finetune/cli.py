"""``psychosafe finetune``: train a LoRA adapter from a config file plus overrides."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def finetune(
    config: Annotated[
        Path | None, typer.Option("--config", help="YAML fine-tuning config (configs/finetune/*.yaml).")
    ] = None,
    overrides: Annotated[
        list[str] | None, typer.Argument(help="Overrides key.sub=value, e.g. train.max_steps=20 lora.r=8.")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Run directory (default: output_dir, or runs/finetune).")] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue from the latest checkpoint in the run dir.")
    ] = False,
    merge: Annotated[
        bool | None, typer.Option("--merge/--no-merge", help="Also write the merged full model (run dir/merged).")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Train again even if the run dir holds a finished run.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Validate, show the resolved config and data mix.")
    ] = False,
) -> None:
    """Fine-tune a LoRA adapter on the corpus (TRL SFTTrainer + PEFT); works under `accelerate launch`."""
    from psychosafe.finetune.config import dump_finetune_config, load_finetune_config

    cfg = load_finetune_config(config, list(overrides or []))
    if merge is not None:
        cfg = cfg.model_copy(update={"merge": merge})
    run_dir = out or cfg.output_dir or Path("runs") / "finetune"
    if dry_run:
        from psychosafe.finetune.data import build_examples

        data = build_examples(cfg.data, cfg.seed)
        typer.echo(dump_finetune_config(cfg).rstrip())
        typer.echo(f"# data: train {data.counts['train']}, eval {data.counts['eval']}, sha256 {data.sha256[:16]}")
        typer.echo(f"# run directory: {run_dir}")
        return
    from psychosafe.finetune.train import train

    result = train(cfg, run_dir, resume=resume, force=force)
    m = result.manifest["metrics"]
    if result.reused:
        typer.echo(f"already trained with these settings: {result.run_dir} (use --force to train again)", err=True)
    else:
        typer.echo(
            f"trained {result.manifest['global_step']} steps: train loss {m['train_loss_first']} -> "
            f"{m['train_loss_last']}, eval loss {m['eval_loss_before']} -> {m['eval_loss_after']}, "
            f"{m['tokens_per_second']} tokens/s",
            err=True,
        )
    typer.echo(f"adapter: {result.adapter_dir}")
    if result.merged_dir:
        typer.echo(f"merged model: {result.merged_dir}")
