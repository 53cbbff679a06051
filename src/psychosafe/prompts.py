"""Prompting conditions: versioned system-prompt texts shipped as data."""

from __future__ import annotations

import hashlib
from functools import cache
from importlib import resources as importlib_resources

import yaml
from pydantic import BaseModel

from psychosafe.errors import UserError

CONDITIONS: tuple[str, ...] = ("baseline", "psychosafe", "finetuned")
#: Conditions that reuse another condition's system prompt. ``finetuned`` (the LoRA fine-tuned model) runs with
#: the generic ``baseline`` prompt it was trained with: the behaviour must come from training, not prompting.
PROMPT_OF: dict[str, str] = {"finetuned": "baseline"}


class SystemPrompt(BaseModel):
    name: str
    version: int
    description: str
    text: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()[:12]


@cache
def load_prompt(name: str) -> SystemPrompt:
    """The system prompt of a prompting condition."""
    if name not in CONDITIONS:
        raise UserError(f"unknown prompt {name!r}: choose from {', '.join(CONDITIONS)}")
    source = PROMPT_OF.get(name, name)
    text = importlib_resources.files("psychosafe.data.prompts").joinpath(f"{source}.yaml").read_text("utf-8")
    return SystemPrompt.model_validate(yaml.safe_load(text))
