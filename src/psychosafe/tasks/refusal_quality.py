"""``psychosafe/refusal_quality``: the study's main evaluation as an Inspect task."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from inspect_ai import Task, task
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.model import ChatMessage, ChatMessageAssistant, ChatMessageSystem, ChatMessageUser, GenerateConfig
from inspect_ai.solver import generate

from psychosafe.corpus import load_corpus, select, stratified_order
from psychosafe.errors import UserError
from psychosafe.prompts import load_prompt
from psychosafe.records import CorpusRecord

DEFAULT_MAX_TOKENS = 256


def _as_list(value: str | Sequence[str] | None) -> list[str] | None:
    if value is None or value == "" or value == []:
        return None
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return [str(v) for v in value]


def to_sample(record: CorpusRecord, condition: str) -> Sample:
    prompt = load_prompt(condition)
    messages: list[ChatMessage] = [ChatMessageSystem(content=prompt.text)]
    for m in record.messages:
        messages.append(
            ChatMessageUser(content=m.content) if m.role == "user" else ChatMessageAssistant(content=m.content)
        )
    return Sample(
        id=record.id,
        input=messages,
        target=record.response,
        metadata={
            "domain": record.domain,
            "subcategory": record.subcategory,
            "severity": record.severity,
            "intent": record.intent,
            "kind": record.kind,
            "split": record.split,
            "locale": record.locale,
            "condition": condition,
            "prompt_version": prompt.version,
        },
    )


def select_records(
    split: str = "validation",
    domains: str | Sequence[str] | None = None,
    kinds: str | Sequence[str] | None = "risk,benign",
    limit: int | None = None,
    ids: str | Sequence[str] | None = None,
    seed: int = 0,
) -> list[CorpusRecord]:
    """Records for the task: filtered, stratified over domains and strata, first ``limit``."""
    records = select(load_corpus(), split=split, domains=_as_list(domains), kinds=_as_list(kinds))
    wanted = _as_list(ids)
    if wanted is not None:
        known = {r.id for r in records}
        unknown = [i for i in wanted if i not in known]
        if unknown:
            raise UserError(f"unknown item id(s) for this selection: {', '.join(unknown[:5])}")
        records = [r for r in records if r.id in set(wanted)]
    ordered = stratified_order(records, seed)
    return ordered[:limit] if limit else ordered


@task
def refusal_quality(
    condition: str = "psychosafe",
    split: str = "validation",
    domains: str | list[str] | None = None,
    kinds: str | list[str] | None = "risk,benign",
    limit: int | None = None,
    ids: str | list[str] | None = None,
    judge: str = "offline",
    seed: int = 0,
    max_tokens: int = DEFAULT_MAX_TOKENS,
) -> Task:
    """Supportive-refusal quality on the PsychoSafe corpus under a prompting condition.

    Args:
        condition: ``baseline`` (generic refusal prompt) or ``psychosafe`` (supportive-refusal protocol).
        split: ``validation``, ``train`` or ``all``.
        domains: comma-separated domains (default: all five).
        kinds: ``risk``, ``benign`` or both (comma-separated).
        limit: number of items, stratified over domains, severity and intent.
        ids: comma-separated item ids to run (used by ``psychosafe run`` to resume).
        judge: ``offline``, ``grader`` (the grader model role), an Inspect model spec, or ``none``.
        seed: seed of the stratified selection.
        max_tokens: generation limit per response.
    """
    records = select_records(split, domains, kinds, limit, ids, seed)
    samples = [to_sample(r, condition) for r in records]
    scorer: Any = None
    if judge != "none":
        from psychosafe.judge.scorer import rubric_judge

        scorer = rubric_judge(judge=judge)
    return Task(
        dataset=MemoryDataset(samples, name=f"psychosafe-{split}"),
        solver=generate(),
        scorer=scorer,
        config=GenerateConfig(max_tokens=max_tokens),
        metadata={"condition": condition, "prompt_sha": load_prompt(condition).sha256},
    )
