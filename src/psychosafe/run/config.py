"""Run configuration: pydantic models loaded from YAML profiles, CLI flags override."""

from __future__ import annotations

from importlib import resources as importlib_resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from psychosafe.errors import UserError
from psychosafe.prompts import CONDITIONS
from psychosafe.taxonomy import DOMAINS, Domain

PROFILES: tuple[str, ...] = ("smoke", "quick", "paper")
#: Settings that change what gets generated; a run directory only resumes with the same ones.
GENERATION_KEYS: tuple[str, ...] = (
    "model",
    "model_args",
    "split",
    "max_tokens",
    "temperature",
    "seed",
    "finetune",
    "adapter",
)


class RunConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    profile: str
    model: str = "embedded"
    model_args: dict[str, Any] = Field(default_factory=dict)
    judge: str = "offline"
    judge_args: dict[str, Any] = Field(default_factory=dict)
    conditions: list[str] = Field(default_factory=lambda: list(CONDITIONS), min_length=1)
    domains: list[Domain] = Field(default_factory=lambda: list(DOMAINS), min_length=1)  # type: ignore[arg-type]
    split: str = "validation"
    risk_per_domain: int = Field(ge=1)
    benign: int = Field(ge=0)
    max_tokens: int = Field(ge=1)
    temperature: float | None = None
    batch_size: int = Field(default=16, ge=1)
    seed: int = 0
    bootstrap_resamples: int = Field(default=2000, ge=100)
    #: the ``finetuned`` condition: FinetuneConfig settings over the embedded CPU defaults (see docs/finetuning.md)
    finetune: dict[str, Any] = Field(default_factory=dict)
    #: evaluate this adapter (or merged model directory) as the ``finetuned`` condition instead of training one
    adapter: Path | None = None
    #: outside checks per condition (psychosafe.bench): XSTest prompt CSV or dataset id; off when unset
    xstest_data: str | None = None
    xstest_limit: int | None = Field(default=None, ge=1)
    #: lm-eval tasks (mmlu, mmlu_cloze, gsm8k, ifeval, ...); off when empty; local copies in downstream_data_dir
    downstream_tasks: list[str] = Field(default_factory=list)
    downstream_data_dir: str | None = None
    downstream_limit: int | None = Field(default=None, ge=1)

    @field_validator("finetune")
    @classmethod
    def _valid_finetune(cls, value: dict[str, Any]) -> dict[str, Any]:
        from psychosafe.finetune.config import FinetuneConfig

        try:
            FinetuneConfig.model_validate(value)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise ValueError(f"finetune.{where}: {first['msg'].removeprefix('Value error, ')}") from None
        return value

    @field_validator("conditions")
    @classmethod
    def _known_conditions(cls, value: list[str]) -> list[str]:
        for c in value:
            if c not in CONDITIONS:
                raise ValueError(f"unknown condition {c!r}; choose from {', '.join(CONDITIONS)}")
        if "baseline" not in value:
            raise ValueError("conditions must include 'baseline' (improvements are relative to it)")
        return value

    @field_validator("split")
    @classmethod
    def _known_split(cls, value: str) -> str:
        if value not in ("validation", "train"):
            raise ValueError("split must be 'validation' or 'train'")
        return value

    def generation_fingerprint(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in GENERATION_KEYS}


def _read_yaml(text: str, where: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise UserError(f"{where}:{line}: not valid YAML ({problem}); fix the file") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UserError(f"{where}: expected a mapping of settings, got {type(data).__name__}")
    return data


def profile_settings(name: str) -> dict[str, Any]:
    if name not in PROFILES:
        raise UserError(f"unknown profile {name!r}: choose from {', '.join(PROFILES)}")
    text = importlib_resources.files("psychosafe.data.profiles").joinpath(f"{name}.yaml").read_text("utf-8")
    return _read_yaml(text, f"profile {name}")


def load_config(
    profile: str | None = None, config_file: Path | None = None, overrides: dict[str, Any] | None = None
) -> RunConfig:
    """Profile settings, then the config file, then CLI overrides (``None`` values ignored)."""
    file_settings: dict[str, Any] = {}
    where = "settings"
    if config_file is not None:
        try:
            text = config_file.read_text("utf-8")
        except OSError as exc:
            raise UserError(f"{config_file}: cannot read config file ({exc.strerror})") from None
        file_settings = _read_yaml(text, str(config_file))
        where = str(config_file)
    name = profile or file_settings.get("profile") or "quick"
    settings = {**profile_settings(name), **file_settings, "profile": name}
    for key, value in (overrides or {}).items():
        if value is None:
            continue
        if key == "model_args":
            settings["model_args"] = {**settings.get("model_args", {}), **value}
        elif key == "model" and value != settings.get("model"):
            settings["model"] = value
            settings["model_args"] = {}
        else:
            settings[key] = value
    try:
        return RunConfig.model_validate(settings)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"])
        msg = first["msg"].removeprefix("Value error, ")
        hint = " (unknown setting: remove it or check its spelling)" if first["type"] == "extra_forbidden" else ""
        got = "" if first["type"] == "extra_forbidden" else f" (got {first.get('input')!r})"
        raise UserError(f"{where}: setting {key!r}: {msg}{got}{hint}") from None


def dump_config(config: RunConfig) -> str:
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)
