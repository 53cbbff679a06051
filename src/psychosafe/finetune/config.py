"""Fine-tuning configuration: a pydantic model loaded from YAML, ``key.sub=value`` overrides on top.

The defaults are the embedded model on a CPU (``configs/finetune/embedded-cpu.yaml`` spells them out), sized so
that the ``finetuned`` condition of the ``quick`` profile trains inside its time budget.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from psychosafe.errors import UserError
from psychosafe.taxonomy import Domain


class DataSettings(BaseModel):
    """What the model is trained on: the corpus split plus the selectivity mix."""

    model_config = ConfigDict(extra="forbid")

    #: corpus JSONL files (the corpus export's format); ``None``: the corpus shipped in the package
    corpus: list[Path] | None = None
    split: Literal["train", "validation", "all"] = "train"
    domains: list[Domain] | None = None
    #: the condition whose system prompt opens every example (``baseline``, ``psychosafe``) or ``none``
    system_prompt: str = "baseline"
    #: at most this many risk pairs (taken in stratified order, so every domain and subcategory keeps its share);
    #: ``None``: all of them (the GPU configs). The CPU default keeps training inside the quick profile's budget.
    max_risk: int | None = Field(default=48, ge=1)
    #: benign pairs per risk pair (0: risk only); benign pairs repeat when the corpus has fewer than asked
    benign_ratio: float = Field(default=0.5, ge=0)
    #: JSONL of general instruction data (``{"messages": [...]}`` ending with an assistant turn, or
    #: ``{"prompt": ..., "response": ...}``), mixed in at ``general_ratio`` examples per risk pair
    general: Path | None = None
    general_ratio: float = Field(default=0.0, ge=0)
    #: share of the examples held out for evaluation (stratified by kind, at least one when > 0)
    eval_fraction: float = Field(default=0.1, ge=0, lt=1)

    @field_validator("system_prompt")
    @classmethod
    def _known_prompt(cls, value: str) -> str:
        if value not in ("none", "baseline", "psychosafe"):
            raise ValueError("system_prompt must be 'baseline', 'psychosafe' or 'none'")
        return value

    @model_validator(mode="after")
    def _general_needs_file(self) -> DataSettings:
        if self.general_ratio > 0 and self.general is None:
            raise ValueError("general_ratio > 0 needs data.general (a JSONL file of instruction data)")
        return self


class LoraSettings(BaseModel):
    """PEFT ``LoraConfig``."""

    model_config = ConfigDict(extra="forbid")

    r: int = Field(default=16, ge=1)
    alpha: int = Field(default=32, ge=1)
    dropout: float = Field(default=0.0, ge=0, lt=1)
    #: module names (suffixes) to adapt, or ``all-linear``
    target_modules: list[str] | Literal["all-linear"] = Field(
        default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    )
    bias: Literal["none", "all", "lora_only"] = "none"


class QuantizationSettings(BaseModel):
    """bitsandbytes 4-bit loading of the base model (QLoRA); needs a CUDA GPU."""

    model_config = ConfigDict(extra="forbid")

    load_in_4bit: bool = False
    quant_type: Literal["nf4", "fp4"] = "nf4"
    double_quant: bool = True
    compute_dtype: Literal["bfloat16", "float16", "float32"] = "bfloat16"


class TrainSettings(BaseModel):
    """The ``SFTConfig`` / ``TrainingArguments`` settings psychosafe exposes."""

    model_config = ConfigDict(extra="forbid")

    epochs: float = Field(default=1.0, gt=0)
    #: stops after this many optimizer steps (overrides ``epochs``); -1: run the epochs
    max_steps: int = Field(default=-1, ge=-1)
    learning_rate: float = Field(default=3e-3, gt=0)
    lr_scheduler: str = "cosine"
    #: warm-up: a share of the steps (< 1) or a number of steps (>= 1)
    warmup: float = Field(default=0.0, ge=0)
    weight_decay: float = Field(default=0.0, ge=0)
    batch_size: int = Field(default=4, ge=1)
    grad_accum: int = Field(default=1, ge=1)
    #: tokens per example (prompt + response), truncated beyond
    max_length: int = Field(default=384, ge=16)
    #: ``auto``: bfloat16 where the hardware has it (CUDA, or a CPU with AVX512-BF16/AMX), else float32
    dtype: Literal["auto", "bfloat16", "float16", "float32"] = "auto"
    gradient_checkpointing: bool = False
    #: evaluate (and log the eval loss) every N steps; 0: once at the end
    eval_steps: int = Field(default=0, ge=0)
    save_steps: int = Field(default=20, ge=1)
    save_total_limit: int | None = Field(default=2, ge=1)
    logging_steps: int = Field(default=1, ge=1)
    packing: bool = False
    optim: str = "adamw_torch"
    dataloader_workers: int = Field(default=0, ge=0)
    progress_bar: bool = True


class FinetuneConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: ``embedded``, a local Hugging Face model directory, or a Hub id (``Qwen/Qwen3.5-27B``)
    base_model: str = "embedded"
    trust_remote_code: bool = False
    attn_implementation: str | None = None
    seed: int = 0
    #: the run directory (adapter, checkpoints, config, manifest, plot); CLI ``--out`` overrides
    output_dir: Path | None = None
    #: also write the base model with the adapter merged in (``<run dir>/merged``)
    merge: bool = False
    data: DataSettings = Field(default_factory=DataSettings)
    lora: LoraSettings = Field(default_factory=LoraSettings)
    quantization: QuantizationSettings = Field(default_factory=QuantizationSettings)
    train: TrainSettings = Field(default_factory=TrainSettings)

    def fingerprint(self) -> str:
        """A hash of every setting that changes the trained weights (not where they are written)."""
        data = self.model_dump(mode="json", exclude={"output_dir", "merge"})
        data["train"].pop("progress_bar", None)
        data["train"].pop("dataloader_workers", None)
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def parse_overrides(pairs: list[str]) -> dict[str, Any]:
    """``train.max_steps=5``-style overrides into a nested dict (values parsed as YAML scalars)."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UserError(f"override {pair!r}: use key=value, e.g. train.max_steps=20 or lora.r=8")
        try:
            parsed = yaml.safe_load(value) if value else ""
        except yaml.YAMLError:
            parsed = value
        node = out
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise UserError(f"override {pair!r}: {part!r} is set twice")
        node[parts[-1]] = parsed
    return out


def merge_settings(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """Nested dict update: mappings merge, anything else replaces."""
    out = dict(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge_settings(out[key], value)
        else:
            out[key] = value
    return out


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        raise UserError(f"{path}: config file not found") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot read config file ({exc.strerror})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark is not None else ""
        raise UserError(f"{path}:{line}: not valid YAML ({getattr(exc, 'problem', exc)}); fix the file") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UserError(f"{path}: expected a mapping of settings, got {type(data).__name__}")
    return data


def validate_settings(settings: dict[str, Any], where: str = "finetune settings") -> FinetuneConfig:
    """A :class:`FinetuneConfig` from a settings dict; a bad setting raises :class:`UserError` naming it."""
    try:
        return FinetuneConfig.model_validate(settings)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"]) or "settings"
        msg = first["msg"].removeprefix("Value error, ")
        hint = " (unknown setting: remove it or check its spelling)" if first["type"] == "extra_forbidden" else ""
        got = "" if first["type"] == "extra_forbidden" else f" (got {first.get('input')!r})"
        raise UserError(f"{where}: setting {key!r}: {msg}{got}{hint}") from None


def load_finetune_config(
    path: Path | None = None, overrides: list[str] | dict[str, Any] | None = None
) -> FinetuneConfig:
    """Defaults, then the YAML file, then overrides. Relative paths in the file (corpus, general data,
    output_dir) are resolved against the current directory, like the CLI's own paths."""
    settings: dict[str, Any] = _read_yaml(path) if path is not None else {}
    extra = parse_overrides(overrides) if isinstance(overrides, list) else (overrides or {})
    settings = merge_settings(settings, extra)
    return validate_settings(settings, str(path) if path is not None else "finetune settings")


def dump_finetune_config(config: FinetuneConfig) -> str:
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)
