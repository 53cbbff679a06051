"""Resolve a model spec (``embedded`` or any Inspect model) into Inspect's model + args."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from psychosafe.errors import UserError
from psychosafe.models import embedded


@dataclass
class ResolvedModel:
    spec: str
    inspect_model: str
    model_args: dict[str, Any] = field(default_factory=dict)

    @property
    def display(self) -> str:
        return self.spec if self.spec != embedded.ALIAS else f"{embedded.ALIAS} ({embedded.MODEL_ID})"


def parse_model_args(pairs: list[str]) -> dict[str, Any]:
    """``key=value`` pairs (``-M``) into a dict, with YAML scalars (numbers, booleans)."""
    import yaml

    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UserError(f"-M {pair!r}: model arguments take the form key=value")
        out[key.strip()] = yaml.safe_load(value) if value else ""
    return out


def resolve_model(spec: str, model_args: dict[str, Any] | None = None, prepare: bool = True) -> ResolvedModel:
    """``embedded`` becomes Inspect's ``hf/local`` on the prepared directory (greedy decoding);
    anything else is passed to Inspect as it is."""
    args = dict(model_args or {})
    if spec == embedded.ALIAS:
        # the embedded model is local: never let a library look it up on a hub
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        path = embedded.prepare() if prepare else None
        if not prepare:
            embedded.gguf_path()  # fail early, with the install command, if the wheel is missing
        base = {
            "model_path": str(path) if path else "<prepared on first use>",
            "do_sample": False,
            "dtype": embedded.default_dtype(),
        }
        return ResolvedModel(spec=spec, inspect_model="hf/local", model_args={**base, **args})
    if "/" not in spec:
        raise UserError(
            f"unknown model {spec!r}: use 'embedded' or an Inspect model spec such as "
            "'hf/local' (with -M model_path=DIR), 'vllm/Qwen/Qwen3.5-27B' or 'openai/gpt-4o'"
        )
    return ResolvedModel(spec=spec, inspect_model=spec, model_args=args)
