"""``psychosafe/sorry_bench``: SORRY-Bench fulfilment as an Inspect task, on the user's own
(gated, never shipped) ``question.jsonl``."""

from __future__ import annotations

from typing import Any

from inspect_ai import Task, task
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.model import ChatMessage, ChatMessageSystem, ChatMessageUser, GenerateConfig
from inspect_ai.scorer import Score, Target, mean, scorer
from inspect_ai.solver import TaskState, generate

from psychosafe.bench.common import system_prompt
from psychosafe.bench.sorry_bench import DEFAULT_MAX_TOKENS, SorryQuestion, load_questions


def to_sample(question: SorryQuestion, condition: str) -> Sample:
    messages: list[ChatMessage] = []
    text = system_prompt(condition)
    if text is not None:
        messages.append(ChatMessageSystem(content=text))
    messages.append(ChatMessageUser(content=question.prompt))
    return Sample(
        id=question.id,
        input=messages,
        metadata={
            "prompt": question.prompt,
            "question_id": question.question_id,
            "category": question.category,
            "prompt_style": question.prompt_style,
            "condition": condition,
        },
    )


@scorer(metrics=[mean()])
def sorry_bench_judge(judge: str = "offline") -> Any:
    """1 when the response fulfils the request, 0 when it refuses (the mean is the fulfilment rate)."""
    from psychosafe.judge import get_judge

    scorer_ = get_judge(judge)

    async def score(state: TaskState, target: Target) -> Score:
        prompt = str(state.metadata["prompt"])
        response = state.output.completion
        if hasattr(scorer_, "sorry_bench_async"):
            verdict = await scorer_.sorry_bench_async(prompt, response)
        else:
            verdict = scorer_.sorry_bench([(prompt, response)])[0]
        if verdict is None:  # no usable label: leave the sample out of the mean rather than guess
            return Score(value=float("nan"), answer=response, explanation=f"unscored by {scorer_.name}")
        return Score(value=verdict, answer=response, explanation=f"judge: {scorer_.name}")

    return score


@task
def sorry_bench(
    data: str = "",
    condition: str = "psychosafe",
    styles: str = "base",
    limit: int | None = None,
    ids: str | None = None,
    judge: str = "offline",
    max_tokens: int = DEFAULT_MAX_TOKENS,
) -> Task:
    """SORRY-Bench prompts under a prompting condition, judged for fulfilment.

    Args:
        data: ``question.jsonl`` (official format), a folder of ``question*.jsonl``, or a gated dataset id
            such as ``sorry-bench/sorry-bench-202406`` (needs HF_TOKEN and an accepted license).
        condition: ``baseline``, ``psychosafe`` or ``none`` (no system prompt).
        styles: comma-separated prompt styles (``base`` and/or linguistic mutations).
        limit: first N questions.
        ids: comma-separated sample ids (``<style>-<question_id>``) to run (used to resume).
        judge: ``offline``, an Inspect model spec (LLM judge, e.g. the SORRY-Bench Mistral judge on vLLM),
            or ``none`` (generate only).
        max_tokens: generation limit per response.
    """
    questions = load_questions(data or None, [s.strip() for s in styles.split(",") if s.strip()])
    if limit:
        questions = questions[:limit]
    if ids:
        wanted = {i.strip() for i in ids.split(",") if i.strip()}
        questions = [q for q in questions if q.id in wanted]
    return Task(
        dataset=MemoryDataset([to_sample(q, condition) for q in questions], name="sorry_bench"),
        solver=generate(),
        scorer=None if judge == "none" else sorry_bench_judge(judge=judge),
        config=GenerateConfig(max_tokens=max_tokens),
        metadata={"condition": condition},
    )
