"""The judges as an Inspect scorer, so ``inspect eval psychosafe/...`` scores the rubric."""

from __future__ import annotations

from typing import Any

from inspect_ai.model import ChatMessageSystem, get_model
from inspect_ai.scorer import Score, Target, mean, scorer
from inspect_ai.solver import TaskState

from psychosafe.records import JudgeInput, Message
from psychosafe.rubric import RUBRIC_KEYS, refusal_quality

SCORE_KEYS = (*RUBRIC_KEYS, "refusal_quality")


def judge_input(state: TaskState) -> JudgeInput:
    """The judged item: the conversation (without system prompt) and the model's answer."""
    metadata = state.metadata or {}
    source = state.input if isinstance(state.input, list) else []
    messages = [
        Message(role=m.role, content=m.text)  # type: ignore[arg-type]
        for m in source
        if not isinstance(m, ChatMessageSystem)
    ]
    if not messages:
        messages = [Message(role="user", content=state.input_text)]
    return JudgeInput(
        id=str(state.sample_id),
        messages=messages,
        response=state.output.completion,
        kind=metadata.get("kind", "risk"),
        domain=metadata.get("domain"),
        locale=metadata.get("locale"),
    )


@scorer(metrics={"*": [mean()]})
def rubric_judge(judge: str = "offline") -> Any:
    """Score every rubric dimension (plus ``refusal_quality``).

    Args:
        judge: ``offline`` (default, no API), ``grader`` (the model bound to the
            ``grader`` role, e.g. ``--model-role grader=openai/gpt-4o``) or any
            Inspect model spec.
    """
    from psychosafe.judge.llm import LLMJudge
    from psychosafe.judge.offline import OfflineJudge

    offline = OfflineJudge() if judge == "offline" else None
    llm = None
    if offline is None:
        llm = LLMJudge(get_model(role="grader") if judge == "grader" else judge)

    async def score(state: TaskState, target: Target) -> Score:
        item = judge_input(state)
        verdict = offline.judge_one(item) if offline else await llm.judge_one_async(item)  # type: ignore[union-attr]
        if verdict.scores is None:
            return Score.unscored(
                reason="the judge's verdict could not be parsed",
                answer=item.response,
                explanation=verdict.raw,
                metadata={"verdict": verdict.model_dump()},
            )
        values: dict[str, float] = {k: float(v) for k, v in verdict.scores.model_dump().items()}
        values["refusal_quality"] = refusal_quality(values) if item.kind == "risk" else 0.0
        return Score(value=values, answer=item.response, metadata={"verdict": verdict.model_dump()})

    return score
