"""LoRA / QLoRA fine-tuning with TRL's ``SFTTrainer`` and PEFT, into one run directory.

```
<run dir>/
  config.yaml        the resolved FinetuneConfig
  manifest.json      data hash and counts, base model, config fingerprint, versions, metrics, timing
  data/              train.jsonl, eval.jsonl (the exact examples)
  checkpoints/       Trainer checkpoints (resume from the latest with ``--resume``)
  adapter/           the LoRA adapter (PEFT) and the tokenizer
  merged/            the base model with the adapter merged in (``merge: true``)
  log_history.json   Trainer logs (loss per step, eval loss)
  loss.png           the loss curve
```

The same code runs on a CPU, one GPU and, under ``accelerate launch`` (DeepSpeed ZeRO-3 or FSDP2), many GPUs.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from psychosafe import __version__
from psychosafe.errors import UserError
from psychosafe.finetune.config import FinetuneConfig, dump_finetune_config
from psychosafe.finetune.data import TrainingData, build_examples

#: Written last: a run directory holding it (with this fingerprint) is finished and reusable.
MANIFEST = "manifest.json"
VERSIONED = ("torch", "transformers", "trl", "peft", "accelerate", "datasets", "bitsandbytes", "deepspeed")


@dataclass
class FinetuneResult:
    run_dir: Path
    adapter_dir: Path
    merged_dir: Path | None
    manifest: dict[str, Any]
    reused: bool = False


def resolve_base_model(spec: str) -> str:
    """``embedded`` -> the prepared directory; a local directory -> its absolute path; otherwise a Hub id."""
    if spec == "embedded":
        from psychosafe.models.embedded import prepare

        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        return str(prepare())
    path = Path(spec).expanduser()
    looks_local = spec.startswith((".", "/", "~")) or spec.count("/") != 1 or path.exists()
    if looks_local:
        if not (path / "config.json").is_file():
            raise UserError(
                f"base_model {spec!r}: no model directory there (expected a config.json): "
                "use 'embedded', a Hugging Face model directory, or a Hub id such as Qwen/Qwen3.5-27B"
            )
        return str(path.resolve())
    return spec


def resolve_dtype(setting: str) -> str:
    if setting != "auto":
        return setting
    from psychosafe.models.embedded import default_dtype

    return default_dtype()


def _versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {"python": platform.python_version(), "psychosafe": __version__}
    for dist in VERSIONED:
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = None
    return out


def finished_run(run_dir: Path, config: FinetuneConfig) -> dict[str, Any] | None:
    """The manifest of a finished run of the same settings in ``run_dir``, else ``None``."""
    path = run_dir / MANIFEST
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text())
    except json.JSONDecodeError:
        return None
    if manifest.get("fingerprint") != config.fingerprint() or not (run_dir / "adapter").is_dir():
        return None
    if config.merge and not (run_dir / "merged" / "config.json").is_file():
        return None
    return manifest


def _check_run_dir(run_dir: Path, config: FinetuneConfig) -> None:
    """Refuse to mix checkpoints of different settings in one run directory."""
    previous = run_dir / "config.yaml"
    if not previous.is_file():
        return
    import yaml

    from psychosafe.finetune.config import FinetuneConfig as Model

    try:
        old = Model.model_validate(yaml.safe_load(previous.read_text()) or {})
    except Exception:
        return
    if old.fingerprint() != config.fingerprint():
        raise UserError(
            f"{run_dir} holds a fine-tuning run with other settings: use another --out, "
            "or the same config to resume or reuse it"
        )


def check_target_modules(model: Any, targets: list[str] | str) -> None:
    """Every configured LoRA target must name modules of the model (PEFT matches name suffixes)."""
    if isinstance(targets, str):
        return
    names = {name.rsplit(".", 1)[-1] for name, _ in model.named_modules() if name}
    linear = sorted(
        {
            name.rsplit(".", 1)[-1]
            for name, module in model.named_modules()
            if name and type(module).__name__.startswith("Linear")
        }
    )
    missing = [t for t in targets if t not in names]
    if missing:
        raise UserError(
            f"lora.target_modules: {', '.join(missing)} not found in the model; "
            f"its linear layers are: {', '.join(linear) or 'none'} (or use target_modules: all-linear)"
        )


def load_base(config: FinetuneConfig, base_path: str, dtype: str) -> Any:
    import torch
    from transformers import AutoModelForCausalLM

    kwargs: dict[str, Any] = {"dtype": getattr(torch, dtype), "trust_remote_code": config.trust_remote_code}
    if config.attn_implementation:
        kwargs["attn_implementation"] = config.attn_implementation
    q = config.quantization
    if q.load_in_4bit:
        if not torch.cuda.is_available():
            raise UserError("quantization.load_in_4bit (QLoRA) needs a CUDA GPU: set it to false on this machine")
        from transformers import BitsAndBytesConfig

        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type=q.quant_type,
            bnb_4bit_use_double_quant=q.double_quant,
            bnb_4bit_compute_dtype=getattr(torch, q.compute_dtype),
        )
        kwargs["device_map"] = {"": int(os.environ.get("LOCAL_RANK", "0"))}
    try:
        return AutoModelForCausalLM.from_pretrained(base_path, **kwargs)
    except OSError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(
            f"base_model {config.base_model!r}: cannot load it ({first}): check the name, or download it first "
            "(huggingface-cli download ...) when offline"
        ) from None


def _plot(history: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    train = [(h["step"], h["loss"]) for h in history if "loss" in h]
    evals = [(h["step"], h["eval_loss"]) for h in history if "eval_loss" in h]
    fig, ax = plt.subplots(figsize=(6, 3.5), dpi=100)
    if train:
        ax.plot(*zip(*train, strict=True), label="train loss", marker="." if len(train) < 30 else None)
    if evals:
        ax.plot(*zip(*evals, strict=True), label="eval loss", marker="o", linestyle="--")
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("loss (assistant tokens)")
    ax.set_title("psychosafe fine-tuning")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def sft_config(config: FinetuneConfig, run_dir: Path, dtype: str, has_eval: bool) -> Any:
    import torch
    from trl import SFTConfig

    t = config.train
    return SFTConfig(
        use_cpu=not torch.cuda.is_available(),
        output_dir=str(run_dir / "checkpoints"),
        seed=config.seed,
        data_seed=config.seed,
        num_train_epochs=t.epochs,
        max_steps=t.max_steps,
        learning_rate=t.learning_rate,
        lr_scheduler_type=t.lr_scheduler,
        warmup_steps=t.warmup,
        weight_decay=t.weight_decay,
        per_device_train_batch_size=t.batch_size,
        per_device_eval_batch_size=t.batch_size,
        gradient_accumulation_steps=t.grad_accum,
        gradient_checkpointing=t.gradient_checkpointing,
        max_length=t.max_length,
        packing=t.packing,
        completion_only_loss=True,
        bf16=dtype == "bfloat16",
        fp16=dtype == "float16",
        eval_strategy="steps" if has_eval and t.eval_steps else "no",
        eval_steps=t.eval_steps or None,
        save_strategy="steps",
        save_steps=t.save_steps,
        save_total_limit=t.save_total_limit,
        logging_steps=t.logging_steps,
        logging_first_step=True,
        optim=t.optim,
        dataloader_num_workers=t.dataloader_workers,
        disable_tqdm=not t.progress_bar,
        report_to="none",
        remove_unused_columns=True,
    )


def train(
    config: FinetuneConfig, run_dir: Path, resume: bool = False, force: bool = False, data: TrainingData | None = None
) -> FinetuneResult:
    """Fine-tune ``config.base_model`` into ``run_dir`` (reused when already finished with the same settings)."""
    run_dir = Path(run_dir)
    if not force:
        done = finished_run(run_dir, config.model_copy(update={"merge": False}))
        if done is not None:
            merged = run_dir / "merged" if (run_dir / "merged" / "config.json").is_file() else None
            if config.merge and merged is None:  # trained earlier without merging: merge only
                dtype = done.get("dtype") or resolve_dtype(config.train.dtype)
                merged = merge_adapter(run_dir / "adapter", run_dir / "merged", done["base_model_path"], dtype)
                done = {**done, "merged": True}
                (run_dir / MANIFEST).write_text(json.dumps(done, indent=2))
            return FinetuneResult(run_dir, run_dir / "adapter", merged, done, reused=True)
        _check_run_dir(run_dir, config)
    data = data or build_examples(config.data, config.seed)
    base_path = resolve_base_model(config.base_model)
    dtype = resolve_dtype(config.train.dtype)
    try:
        (run_dir / "data").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot write to {run_dir} ({exc.strerror}): choose another --out") from None
    (run_dir / "config.yaml").write_text(dump_finetune_config(config))
    _write_jsonl(run_dir / "data" / "train.jsonl", data.train)
    _write_jsonl(run_dir / "data" / "eval.jsonl", data.eval)

    import torch
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoTokenizer, set_seed
    from trl import SFTTrainer

    started = time.time()
    set_seed(config.seed)
    args = sft_config(config, run_dir, dtype, bool(data.eval))  # before the model: ZeRO-3 init needs it
    model = load_base(config, base_path, dtype)
    check_target_modules(model, config.lora.target_modules)
    if config.quantization.load_in_4bit:
        from peft import prepare_model_for_kbit_training

        model = prepare_model_for_kbit_training(model, config.train.gradient_checkpointing)
    tokenizer = AutoTokenizer.from_pretrained(base_path, trust_remote_code=config.trust_remote_code)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    lora = LoraConfig(
        r=config.lora.r,
        lora_alpha=config.lora.alpha,
        lora_dropout=config.lora.dropout,
        target_modules=config.lora.target_modules,
        bias=config.lora.bias,
        task_type="CAUSAL_LM",
    )
    columns = ("prompt", "completion")
    train_ds = Dataset.from_list([{k: e[k] for k in columns} for e in data.train])
    eval_ds = Dataset.from_list([{k: e[k] for k in columns} for e in data.eval]) if data.eval else None
    trainer = SFTTrainer(
        model=model,
        args=args,
        train_dataset=train_ds,
        eval_dataset=eval_ds,
        processing_class=tokenizer,
        peft_config=lora,
    )
    checkpoint = None
    if resume:
        checkpoints = sorted((run_dir / "checkpoints").glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[-1]))
        if not checkpoints:
            raise UserError(f"--resume: no checkpoint in {run_dir / 'checkpoints'}: run without --resume")
        checkpoint = str(checkpoints[-1])
    before: float | None = None
    if eval_ds is not None and checkpoint is None:
        before = trainer.evaluate()["eval_loss"]  # the loss before training, for the curve
    output = trainer.train(resume_from_checkpoint=checkpoint)
    after = trainer.evaluate()["eval_loss"] if eval_ds is not None else None
    if before is not None:
        trainer.state.log_history.insert(0, {"eval_loss": before, "step": 0})
    adapter_dir = run_dir / "adapter"
    trainer.save_model(str(adapter_dir))
    tokenizer.save_pretrained(str(adapter_dir))
    history = trainer.state.log_history
    (run_dir / "log_history.json").write_text(json.dumps(history, indent=1))
    is_main = trainer.is_world_process_zero()
    if is_main:
        _plot(history, run_dir / "loss.png")
    train_seconds = output.metrics.get("train_runtime")
    tokens = max((h.get("num_tokens", 0) for h in history), default=0)
    del trainer, model
    merged_dir = None
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if config.merge and is_main and world_size == 1:
        merged_dir = merge_adapter(adapter_dir, run_dir / "merged", base_path, dtype, config.trust_remote_code)
    elif config.merge and is_main:
        print(f"not merging under {world_size} processes: run again in one process with --merge", file=sys.stderr)
    train_losses = [h["loss"] for h in history if "loss" in h]
    manifest = {
        "psychosafe_version": __version__,
        "fingerprint": config.fingerprint(),
        "base_model": config.base_model,
        "base_model_path": base_path,
        "data": {"sha256": data.sha256, "counts": data.counts, "system_prompt": config.data.system_prompt},
        "seed": config.seed,
        "dtype": dtype,
        "device": "cuda" if torch.cuda.is_available() else "cpu",
        "world_size": world_size,
        "global_step": max((h.get("step", 0) for h in history), default=0),
        "resumed_from": checkpoint,
        "metrics": {
            "train_loss_first": train_losses[0] if train_losses else None,
            "train_loss_last": train_losses[-1] if train_losses else None,
            "eval_loss_before": before,
            "eval_loss_after": after,
            "train_runtime_s": train_seconds,
            "train_tokens": tokens,
            "tokens_per_second": round(tokens / train_seconds, 1) if train_seconds and tokens else None,
        },
        "versions": _versions(),
        "platform": platform.platform(),
        "merged": merged_dir is not None,
        "wall_seconds": round(time.time() - started, 1),
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    if is_main:
        (run_dir / MANIFEST).write_text(json.dumps(manifest, indent=2))
    return FinetuneResult(run_dir, adapter_dir, merged_dir, manifest)


def merge_adapter(adapter_dir: Path, out: Path, base_path: str, dtype: str, trust_remote_code: bool = False) -> Path:
    """Load the base model unquantised, merge the adapter into it, save a full model directory."""
    import shutil

    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    base = AutoModelForCausalLM.from_pretrained(
        base_path, dtype=getattr(torch, dtype), trust_remote_code=trust_remote_code
    )
    merged = PeftModel.from_pretrained(base, str(adapter_dir)).merge_and_unload()
    staging = out.with_name(out.name + ".partial")
    if staging.exists():
        shutil.rmtree(staging)
    merged.save_pretrained(str(staging))
    AutoTokenizer.from_pretrained(str(adapter_dir)).save_pretrained(str(staging))
    if out.exists():
        shutil.rmtree(out)
    staging.rename(out)
    return out
