"""The ``finetuned`` condition of ``psychosafe run``: train (or reuse) an adapter, then evaluate it through Inspect.

The adapter is trained on the corpus train split with the run's ``finetune`` settings (on top of the embedded CPU
defaults) and cached under ``$PSYCHOSAFE_CACHE/adapters/<key>``, where the key hashes the training examples and
the settings: the same data and settings reuse it, anything else trains a new one. ``--adapter DIR`` evaluates an
existing adapter (or merged model directory) instead.

How Inspect reaches it: hf-served models get the merged full directory (``hf/local -M model_path=...``); an adapter
without a merged copy is loaded by transformers as base + adapter from the same ``model_path``; vLLM-served models
get ``vllm/<base>:<adapter dir>`` (Inspect's vLLM provider enables LoRA for it).
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path
from typing import Any

from psychosafe.errors import UserError
from psychosafe.finetune.config import FinetuneConfig, merge_settings, validate_settings
from psychosafe.models.spec import ResolvedModel

#: The system prompt the finetuned condition trains and evaluates with (see docs/finetuning.md).
FINETUNED_PROMPT = "baseline"


def base_model_of(model: str, model_args: dict[str, Any]) -> str:
    """The model to fine-tune for a run's ``model`` setting."""
    if model == "embedded":
        return "embedded"
    if model == "hf/local" and model_args.get("model_path"):
        return str(model_args["model_path"])
    provider, _, name = model.partition("/")
    if provider in ("hf", "vllm") and name and name != "local":
        return name.split(":", 1)[0]
    raise UserError(
        f"the finetuned condition cannot train {model!r} locally: set finetune.base_model in the config "
        "to a local directory or Hub id, or evaluate an existing adapter with --adapter DIR"
    )


def run_finetune_config(model: str, model_args: dict[str, Any], settings: dict[str, Any]) -> FinetuneConfig:
    """The FinetuneConfig for a run: defaults, the run's ``finetune`` block, the run's model and prompt."""
    base: dict[str, Any] = {
        "base_model": base_model_of(model, model_args) if "base_model" not in settings else settings["base_model"],
        "merge": not model.startswith("vllm/"),
    }
    merged = merge_settings(base, settings)
    merged = merge_settings(merged, {"data": {"system_prompt": FINETUNED_PROMPT}})
    return validate_settings(merged, "run setting 'finetune'")


def adapter_key(config: FinetuneConfig, data_sha: str) -> str:
    return hashlib.sha256(f"{config.fingerprint()}:{data_sha}".encode()).hexdigest()[:16]


def serve(model: ResolvedModel, path: Path) -> ResolvedModel:
    """The Inspect model evaluating ``path`` (a merged model dir or an adapter dir) beside ``model``."""
    path = path.expanduser().resolve()
    is_adapter = (path / "adapter_config.json").is_file()
    if not is_adapter and not (path / "config.json").is_file():
        raise UserError(f"--adapter {path}: neither a PEFT adapter (adapter_config.json) nor a model directory")
    if model.inspect_model.startswith("vllm/"):
        if not is_adapter:
            return ResolvedModel(spec=f"vllm/{path}", inspect_model=f"vllm/{path}", model_args=model.model_args)
        base = model.inspect_model.split(":", 1)[0]
        return ResolvedModel(spec=f"{base}:{path}", inspect_model=f"{base}:{path}", model_args=model.model_args)
    if not model.inspect_model.startswith("hf/"):
        raise UserError(
            f"the finetuned condition runs through Inspect's hf or vllm provider, not {model.inspect_model!r}: "
            "serve the merged model yourself and evaluate it as --model"
        )
    args = {**model.model_args, "model_path": str(path)}
    return ResolvedModel(spec=f"finetuned:{path}", inspect_model="hf/local", model_args=args)


def finetuned_model(
    model: ResolvedModel, run_model: str, run_args: dict[str, Any], settings: dict[str, Any], adapter: Path | None
) -> tuple[ResolvedModel, dict[str, Any]]:
    """Train or reuse the adapter (unless ``adapter`` is given); the Inspect model and a manifest entry."""
    if adapter is not None:
        return serve(model, adapter), {"adapter": str(adapter), "trained": False}
    from psychosafe.finetune.data import build_examples
    from psychosafe.finetune.train import train
    from psychosafe.models.embedded import cache_root

    config = run_finetune_config(run_model, run_args, settings)
    data = build_examples(config.data, config.seed)
    key = adapter_key(config, data.sha256)
    run_dir = cache_root() / "adapters" / key
    print(f"finetuned: adapter {key} in {run_dir}", file=sys.stderr)
    result = train(config, run_dir, data=data)
    if result.reused:
        print("finetuned: reusing the adapter trained earlier with the same data and settings", file=sys.stderr)
    path = result.merged_dir or result.adapter_dir
    entry = {
        "adapter": str(result.adapter_dir),
        "merged": str(result.merged_dir) if result.merged_dir else None,
        "key": key,
        "trained": not result.reused,
        "data_sha256": data.sha256,
        "metrics": result.manifest.get("metrics"),
    }
    return serve(model, path), entry
