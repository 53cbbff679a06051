"""Training throughput: ``psychosafe finetune`` vs a bare TRL ``SFTTrainer`` script, same data and settings.

Each side trains in its own subprocess (so peak memory is per side), alternating order over ``--repeats``; both use
the examples psychosafe builds from the corpus, the same LoRA and trainer settings, and the trainer's own count of
trained tokens over its ``train_runtime``. Prints JSON; goal: ratio (psychosafe / bare tokens/s) >= 0.9.

    .venv/bin/python benchmarks/finetune_throughput.py [--steps 8] [--max-length 256] [--batch 4] [--repeats 1]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any


def overrides(args: argparse.Namespace) -> list[str]:
    return [
        f"train.max_steps={args.steps}",
        f"train.max_length={args.max_length}",
        f"train.batch_size={args.batch}",
        "train.grad_accum=1",
        f"train.save_steps={args.steps}",
        "train.progress_bar=false",
        "data.eval_fraction=0",
        "merge=false",
    ]


def peak_memory() -> dict[str, float | None]:
    import torch

    gpu = torch.cuda.max_memory_allocated() / 2**20 if torch.cuda.is_available() else None
    return {"peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1), "peak_gpu_mib": gpu}


def worker_psychosafe(args: argparse.Namespace, out: Path) -> dict[str, Any]:
    from psychosafe.finetune.config import load_finetune_config
    from psychosafe.finetune.train import train

    config = load_finetune_config(None, overrides(args))
    result = train(config, out, force=True)
    m = result.manifest["metrics"]
    return {"tokens": m["train_tokens"], "seconds": m["train_runtime_s"], **peak_memory()}


def worker_bare(args: argparse.Namespace, out: Path) -> dict[str, Any]:
    """What a user would write with TRL and PEFT alone."""
    import torch
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    from psychosafe.finetune.config import load_finetune_config
    from psychosafe.finetune.data import build_examples
    from psychosafe.finetune.train import resolve_base_model, resolve_dtype

    config = load_finetune_config(None, overrides(args))
    data = build_examples(config.data, config.seed)
    path = resolve_base_model("embedded")
    dtype = resolve_dtype(config.train.dtype)
    t = config.train
    sft = SFTConfig(
        output_dir=str(out),
        use_cpu=not torch.cuda.is_available(),
        seed=config.seed,
        max_steps=t.max_steps,
        learning_rate=t.learning_rate,
        lr_scheduler_type=t.lr_scheduler,
        # TRL's defaults differ (adamw_torch_fused, gradient checkpointing on): same settings on both sides
        optim=t.optim,
        gradient_checkpointing=t.gradient_checkpointing,
        per_device_train_batch_size=t.batch_size,
        gradient_accumulation_steps=t.grad_accum,
        max_length=t.max_length,
        bf16=dtype == "bfloat16",
        save_strategy="no",
        logging_steps=t.logging_steps,
        disable_tqdm=True,
        report_to="none",
    )
    model = AutoModelForCausalLM.from_pretrained(path, dtype=getattr(torch, dtype))
    tokenizer = AutoTokenizer.from_pretrained(path)
    lora = LoraConfig(
        r=config.lora.r,
        lora_alpha=config.lora.alpha,
        lora_dropout=config.lora.dropout,
        target_modules=config.lora.target_modules,
        task_type="CAUSAL_LM",
    )
    dataset = Dataset.from_list([{"prompt": e["prompt"], "completion": e["completion"]} for e in data.train])
    trainer = SFTTrainer(model=model, args=sft, train_dataset=dataset, processing_class=tokenizer, peft_config=lora)
    output = trainer.train()
    tokens = max(h.get("num_tokens", 0) for h in trainer.state.log_history)
    return {"tokens": tokens, "seconds": output.metrics["train_runtime"], **peak_memory()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--worker", choices=["psychosafe", "bare"], help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        fn = worker_psychosafe if args.worker == "psychosafe" else worker_bare
        print("RESULT " + json.dumps(fn(args, Path(args.out))), flush=True)
        return
    runs: dict[str, list[dict[str, Any]]] = {"psychosafe": [], "bare": []}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeats):
            order = ["bare", "psychosafe"] if i % 2 == 0 else ["psychosafe", "bare"]
            for side in order:
                cmd = [sys.executable, __file__, "--worker", side, "--out", f"{tmp}/{side}-{i}"]
                cmd += ["--steps", str(args.steps), "--max-length", str(args.max_length), "--batch", str(args.batch)]
                proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
                line = next((x for x in proc.stdout.splitlines() if x.startswith("RESULT ")), None)
                if line is None:
                    sys.exit(f"{side} worker failed:\n{proc.stderr[-3000:]}")
                result = json.loads(line.removeprefix("RESULT "))
                result["tokens_per_s"] = round(result["tokens"] / result["seconds"], 1)
                runs[side].append(result)
    speed = {side: statistics.median(r["tokens_per_s"] for r in rs) for side, rs in runs.items()}
    ratio = speed["psychosafe"] / speed["bare"]
    print(
        json.dumps(
            {
                "benchmark": "finetune_throughput",
                "settings": {"steps": args.steps, "max_length": args.max_length, "batch": args.batch},
                "psychosafe_tokens_per_s": speed["psychosafe"],
                "bare_trl_tokens_per_s": speed["bare"],
                "ratio": round(ratio, 3),
                "goal": ">= 0.9",
                "meets_goal": ratio >= 0.9,
                "peak_rss_mib": {side: max(r["peak_rss_mib"] for r in rs) for side, rs in runs.items()},
                "peak_gpu_mib": {side: rs[0]["peak_gpu_mib"] for side, rs in runs.items()},
                "runs": runs,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
