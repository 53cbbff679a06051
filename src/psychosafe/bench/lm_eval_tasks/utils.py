"""Helpers for psychosafe's local lm-eval task definitions (copied next to the YAMLs at run time)."""

from __future__ import annotations

from typing import Any

SEED = 1234


def process_shuffled(dataset: Any) -> Any:
    """A fixed shuffle, so that ``--limit N`` takes a spread of the data rather than its head."""
    return dataset.shuffle(seed=SEED)


def process_mmlu(dataset: Any) -> Any:
    """Every field as text (CSV cells such as ``1`` or ``True`` would otherwise be typed), then shuffled."""

    def as_text(doc: dict[str, Any]) -> dict[str, str]:
        return {k: "" if v is None else str(v) for k, v in doc.items()}

    return process_shuffled(dataset.map(as_text))


def ifeval_process_results(doc: dict[str, Any], results: list[str]) -> dict[str, Any]:
    from lm_eval.tasks.ifeval.utils import process_results

    return process_results(doc, results)


def ifeval_agg_inst_level_acc(items: list[Any]) -> float:
    from lm_eval.tasks.ifeval.utils import agg_inst_level_acc

    return agg_inst_level_acc(items)
