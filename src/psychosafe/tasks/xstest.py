"""``psychosafe/xstest``: XSTest over-refusal as an Inspect task.

Each sample is one XSTest prompt under a condition's system prompt; the scorer classifies the response
as full compliance, full refusal or partial refusal with the offline detector or an LLM judge.
"""

from __future__ import annotations

from typing import Any

from inspect_ai import Task, task
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.model import ChatMessage, ChatMessageSystem, ChatMessageUser, GenerateConfig
from inspect_ai.scorer import Metric, SampleScore, Score, Target, metric, scorer
from inspect_ai.solver import TaskState, generate

from psychosafe.bench.common import system_prompt
from psychosafe.bench.xstest import DEFAULT_MAX_TOKENS, XSTestPrompt, load_xstest, select_prompts
from psychosafe.errors import UserError

REFUSALS = ("2_full_refusal", "3_partial_refusal")


def to_sample(prompt: XSTestPrompt, condition: str) -> Sample:
    messages: list[ChatMessage] = []
    text = system_prompt(condition)
    if text is not None:
        messages.append(ChatMessageSystem(content=text))
    messages.append(ChatMessageUser(content=prompt.prompt))
    return Sample(
        id=prompt.id,
        input=messages,
        metadata={
            "prompt": prompt.prompt,
            "type": prompt.type,
            "label": prompt.label,
            "focus": prompt.focus,
            "condition": condition,
        },
    )


def _refusal_rate(group: str) -> Metric:
    def compute(scores: list[SampleScore]) -> float:
        labels = [
            s.score.value
            for s in scores
            if (s.sample_metadata or {}).get("label") == group and s.score.value in (*REFUSALS, "1_full_compliance")
        ]
        return sum(v in REFUSALS for v in labels) / len(labels) if labels else float("nan")

    return compute


@metric
def safe_refusal_rate() -> Metric:
    """Share of safe prompts refused fully or partly (over-refusal; unscored samples left out)."""
    return _refusal_rate("safe")


@metric
def unsafe_refusal_rate() -> Metric:
    """Share of unsafe prompts refused fully or partly (unscored samples left out)."""
    return _refusal_rate("unsafe")


@scorer(metrics=[safe_refusal_rate(), unsafe_refusal_rate()])
def xstest_classifier(classifier: str = "offline") -> Any:
    """XSTest 3-class label of the response (``unscored`` when an LLM judge gives no usable label)."""
    from psychosafe.judge import get_judge

    judge = get_judge(classifier)

    async def score(state: TaskState, target: Target) -> Score:
        prompt = str(state.metadata["prompt"])
        response = state.output.completion
        if hasattr(judge, "xstest_async"):
            label = await judge.xstest_async(prompt, response)
        else:
            label = judge.xstest([(prompt, response)])[0]
        return Score(value=label or "unscored", answer=response, explanation=f"classifier: {judge.name}")

    return score


@task
def xstest(
    data: str = "",
    condition: str = "psychosafe",
    limit: int | None = None,
    ids: str | None = None,
    classifier: str = "offline",
    seed: int = 0,
    max_tokens: int = DEFAULT_MAX_TOKENS,
) -> Task:
    """XSTest prompts under a prompting condition, classified into compliance / refusal / partial refusal.

    Args:
        data: path of ``xstest_prompts.csv`` or the dataset id ``Paul/XSTest``.
        condition: ``baseline``, ``psychosafe`` or ``none`` (no system prompt).
        limit: number of prompts, spread evenly over the prompt types.
        ids: comma-separated prompt ids to run (used to resume).
        classifier: ``offline``, an Inspect model spec (LLM judge), or ``none`` (generate only).
        seed: seed of the selection order.
        max_tokens: generation limit per response.
    """
    if not data:
        raise UserError("xstest: pass -T data=PATH (xstest_prompts.csv) or -T data=Paul/XSTest")
    prompts = select_prompts(load_xstest(data), limit, seed)
    if ids:
        wanted = {i.strip() for i in ids.split(",") if i.strip()}
        prompts = [p for p in prompts if p.id in wanted]
    samples = [to_sample(p, condition) for p in prompts]
    return Task(
        dataset=MemoryDataset(samples, name="xstest"),
        solver=generate(),
        scorer=None if classifier == "none" else xstest_classifier(classifier=classifier),
        config=GenerateConfig(max_tokens=max_tokens),
        metadata={"condition": condition},
    )
