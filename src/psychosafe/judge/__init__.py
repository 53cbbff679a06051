"""Judges: the offline judge (default), an LLM judge over any Inspect model, and combinations."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from psychosafe.records import JudgeInput, Verdict


class Judge(Protocol):
    @property
    def name(self) -> str: ...

    def score(self, items: Sequence[JudgeInput]) -> list[Verdict]: ...

    def xstest(self, pairs: Sequence[tuple[str, str]]) -> list[str | None]: ...

    def sorry_bench(self, pairs: Sequence[tuple[str, str]]) -> list[int | None]: ...


def get_judge(spec: str = "offline", **model_args: Any) -> Judge:
    """``offline`` for the offline judge, an Inspect model spec for the LLM judge, or several
    joined with ``+`` (``offline+openai/gpt-4o``) to combine them."""
    from psychosafe.errors import UserError

    parts = [p.strip() for p in spec.split("+") if p.strip()]
    if len(parts) > 1:
        from psychosafe.judge.combine import CombinedJudge

        return CombinedJudge([get_judge(p, **model_args) for p in parts])  # type: ignore[return-value]
    if spec == "offline":
        from psychosafe.judge.offline import OfflineJudge

        return OfflineJudge()
    if "/" not in spec:
        raise UserError(
            f"unknown judge {spec!r}: use 'offline', an Inspect model such as 'openai/gpt-4o', "
            "or several joined with '+'"
        )
    from psychosafe.judge.llm import LLMJudge

    return LLMJudge(spec, **model_args)
