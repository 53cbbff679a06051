"""Judges: the offline judge (default) and an LLM judge over any Inspect model."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from psychosafe.records import JudgeInput, Verdict


class Judge(Protocol):
    @property
    def name(self) -> str: ...

    def score(self, items: Sequence[JudgeInput]) -> list[Verdict]: ...


def get_judge(spec: str = "offline", **model_args: Any) -> Judge:
    """``offline`` for the offline judge, otherwise an Inspect model spec for the LLM judge."""
    from psychosafe.errors import UserError

    if spec == "offline":
        from psychosafe.judge.offline import OfflineJudge

        return OfflineJudge()
    if "/" not in spec:
        raise UserError(f"unknown judge {spec!r}: use 'offline' or an Inspect model such as 'openai/gpt-4o'")
    from psychosafe.judge.llm import LLMJudge

    return LLMJudge(spec, **model_args)
