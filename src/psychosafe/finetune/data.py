"""Chat-format training examples from the corpus, with the selectivity mix.

Each example is TRL's conversational *prompt-completion* format: ``prompt`` holds the system prompt and the
conversation up to the last user turn, ``completion`` the corpus response as one assistant turn. TRL renders both
with the model's own chat template and computes the loss on the completion only (the assistant response).

The mix: every risk pair of the split, ``benign_ratio`` benign pairs per risk pair (sensitive but legitimate
requests answered helpfully, so the model learns when *not* to refuse), and ``general_ratio`` examples of general
instruction data per risk pair. Evaluation examples are held out before any repetition, so none of them is
also trained on.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from psychosafe.corpus import load_corpus, select, stratified_order
from psychosafe.errors import UserError
from psychosafe.finetune.config import DataSettings
from psychosafe.records import CorpusRecord, Message, read_jsonl


class GeneralExample(BaseModel):
    """One line of general instruction data: ``messages`` ending with an assistant turn, or prompt/response."""

    model_config = ConfigDict(extra="allow")

    messages: list[Message] | None = None
    prompt: str | None = None
    response: str | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _one_form(self) -> GeneralExample:
        if self.messages:
            if self.messages[-1].role != "assistant" or len(self.messages) < 2:
                raise ValueError("messages must hold at least a user turn and end with an assistant turn")
        elif not (self.prompt and self.response):
            raise ValueError("give either messages (ending with an assistant turn) or prompt and response")
        return self

    def turns(self) -> tuple[list[dict[str, str]], str]:
        if self.messages:
            return [m.model_dump() for m in self.messages[:-1]], self.messages[-1].content
        return [{"role": "user", "content": self.prompt or ""}], self.response or ""


@dataclass
class TrainingData:
    train: list[dict[str, Any]]
    eval: list[dict[str, Any]]
    counts: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def sha256(self) -> str:
        digest = hashlib.sha256()
        for part in (self.train, self.eval):
            for example in part:
                digest.update(json.dumps(example, sort_keys=True).encode())
            digest.update(b"\x00")
        return digest.hexdigest()


def system_messages(name: str) -> list[dict[str, str]]:
    if name == "none":
        return []
    from psychosafe.prompts import load_prompt

    return [{"role": "system", "content": load_prompt(name).text}]


def corpus_example(record: CorpusRecord, system: list[dict[str, str]]) -> dict[str, Any]:
    return {
        "id": record.id,
        "kind": record.kind,
        "prompt": system + [m.model_dump() for m in record.messages],
        "completion": [{"role": "assistant", "content": record.response}],
    }


def _split(items: list[Any], fraction: float) -> tuple[list[Any], list[Any]]:
    """(train, eval): the last ``fraction`` of ``items`` (at least one when there are two or more)."""
    if fraction <= 0 or len(items) < 2:
        return items, []
    n_eval = min(len(items) - 1, max(1, round(len(items) * fraction)))
    return items[:-n_eval], items[-n_eval:]


def _cycle(items: list[Any], n: int) -> list[Any]:
    return [items[i % len(items)] for i in range(n)] if items else []


def read_general(path: Path) -> list[GeneralExample]:
    examples = list(read_jsonl(path, GeneralExample))
    if not examples:
        raise UserError(f"{path}: no instruction examples in the file (data.general)")
    return examples


def build_examples(settings: DataSettings, seed: int = 0) -> TrainingData:
    """The training and evaluation examples for ``settings`` (deterministic for a seed)."""
    corpus = load_corpus(settings.corpus) if settings.corpus else load_corpus()
    split = None if settings.split == "all" else settings.split
    risk = stratified_order(select(corpus, split=split, domains=settings.domains, kinds=["risk"]), seed)
    benign = stratified_order(select(corpus, split=split, domains=settings.domains, kinds=["benign"]), seed)
    if settings.max_risk is not None:  # a capped risk set takes only the benign pairs it needs (eval split too)
        risk = risk[: settings.max_risk]
        benign = benign[: math.ceil(len(risk) * settings.benign_ratio)]
    if not risk:
        where = ", ".join(str(p) for p in settings.corpus) if settings.corpus else "the shipped corpus"
        raise UserError(f"no risk items with split={settings.split!r} in {where}: check data.split and data.domains")
    system = system_messages(settings.system_prompt)
    risk_train, risk_eval = _split(risk, settings.eval_fraction)
    benign_train, benign_eval = _split(benign, settings.eval_fraction) if settings.benign_ratio > 0 else ([], [])
    n_benign = round(len(risk_train) * settings.benign_ratio)
    if n_benign and not benign_train:
        raise UserError(f"data.benign_ratio={settings.benign_ratio} but the selection has no benign items")
    train = [corpus_example(r, system) for r in risk_train + _cycle(benign_train, n_benign)]
    evals = [corpus_example(r, system) for r in risk_eval + benign_eval]
    counts = {
        "train": {"risk": len(risk_train), "benign": n_benign, "general": 0},
        "eval": {"risk": len(risk_eval), "benign": len(benign_eval), "general": 0},
    }
    if settings.general is not None and settings.general_ratio > 0:
        general = read_general(settings.general)
        random.Random(seed).shuffle(general)
        general_train, general_eval = _split(general, settings.eval_fraction)
        n_general = round(len(risk_train) * settings.general_ratio)
        for i, example in enumerate(_cycle(general_train, n_general)):
            turns, response = example.turns()
            train.append(
                {
                    "id": f"general-{i}",
                    "kind": "general",
                    "prompt": system + turns,
                    "completion": [{"role": "assistant", "content": response}],
                }
            )
        keep = min(len(general_eval), max(1, math.ceil(n_general * settings.eval_fraction)))
        for i, example in enumerate(general_eval[:keep]):
            turns, response = example.turns()
            evals.append(
                {
                    "id": f"general-eval-{i}",
                    "kind": "general",
                    "prompt": system + turns,
                    "completion": [{"role": "assistant", "content": response}],
                }
            )
        counts["train"]["general"] = n_general
        counts["eval"]["general"] = keep
    random.Random(seed).shuffle(train)
    return TrainingData(train=train, eval=evals, counts=counts)
