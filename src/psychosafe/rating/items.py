"""Items to rate, read from a run directory or from a file in the ``judge score`` input format."""

from __future__ import annotations

import json
from pathlib import Path

from psychosafe.errors import UserError
from psychosafe.rating.db import NewItem
from psychosafe.records import JudgeInput, read_jsonl


def item_key(source_id: str, condition: str | None) -> str:
    """The key that identifies an item across imports and exports: ``condition/id`` or ``id``."""
    return f"{condition}/{source_id}" if condition else source_id


def from_run_dir(run_dir: Path) -> list[NewItem]:
    """Every generated response of a run directory, with its conversation from the corpus."""
    from psychosafe.corpus import load_corpus

    generations = run_dir / "generations.jsonl"
    if not generations.is_file():
        raise UserError(f"{run_dir}: no generations.jsonl there; give a run directory made by `psychosafe run`")
    corpus = {record.id: record for record in load_corpus()}
    items: list[NewItem] = []
    with generations.open(encoding="utf-8") as handle:
        for lineno, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut short by a kill of the run; the run redoes that sample
            source_id, response = str(record.get("id", "")), record.get("response")
            if source_id not in corpus:
                raise UserError(f"{generations}:{lineno}: item id {source_id!r} is not in the corpus")
            if not isinstance(response, str):
                raise UserError(f"{generations}:{lineno}: no response text")
            item = corpus[source_id]
            condition = record.get("condition")
            items.append(
                NewItem(
                    item_key=item_key(source_id, condition),
                    source_id=source_id,
                    kind=item.kind,
                    messages=[m.model_dump() for m in item.messages],
                    response=response,
                    condition=condition,
                    model=record.get("model"),
                    domain=item.domain,
                    locale=item.locale,
                )
            )
    if not items:
        raise UserError(f"{generations} holds no responses yet: finish the run first")
    return items


def from_jsonl(path: Path) -> list[NewItem]:
    """Items from a JSONL file in the ``judge score`` input format (optional ``condition`` and ``model`` fields are
    kept, hidden from raters)."""
    items: list[NewItem] = []
    seen: set[str] = set()
    for record in read_jsonl(path, JudgeInput):
        extra = record.model_extra or {}
        condition = extra.get("condition")
        key = item_key(record.id, str(condition) if condition else None)
        if key in seen:
            raise UserError(f"{path}: item {key!r} appears twice; give each line its own id (or condition)")
        seen.add(key)
        items.append(
            NewItem(
                item_key=key,
                source_id=record.id,
                kind=record.kind,
                messages=[m.model_dump() for m in record.messages],
                response=record.response,
                condition=str(condition) if condition else None,
                model=str(extra["model"]) if extra.get("model") else None,
                domain=record.domain,
                locale=record.locale,
            )
        )
    if not items:
        raise UserError(f"{path} holds no items")
    return items


def load_items(source: Path) -> list[NewItem]:
    if source.is_dir():
        return from_run_dir(source)
    if source.is_file():
        return from_jsonl(source)
    raise UserError(f"{source}: not found; give a run directory or a JSONL file in the `judge score` input format")
