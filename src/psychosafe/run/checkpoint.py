"""Append-only JSONL checkpoints: every finished sample is on disk (flushed and fsynced)
before the next one, so a kill or Ctrl-C loses nothing already finished.

Generations reach the checkpoint through an Inspect hook (``on_sample_end``), which
fires for each sample as soon as it completes.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from inspect_ai.hooks import Hooks, SampleEnd, hooks


class JsonlCheckpoint:
    """Records keyed by a tuple of fields; a truncated last line (killed mid-write) is ignored."""

    def __init__(self, path: Path, key: tuple[str, ...]) -> None:
        self.path = path
        self.key = key
        self.records: dict[tuple[Any, ...], dict[str, Any]] = {}
        if path.exists():
            with path.open(encoding="utf-8") as handle:
                for line in handle:
                    try:
                        record = json.loads(line)
                    except json.JSONDecodeError:
                        continue  # a line cut short by a kill: that sample is simply redone
                    self.records[self._key(record)] = record

    def _key(self, record: dict[str, Any]) -> tuple[Any, ...]:
        return tuple(record.get(k) for k in self.key)

    def __contains__(self, key: tuple[Any, ...]) -> bool:
        return key in self.records

    def __len__(self) -> int:
        return len(self.records)

    def append(self, record: dict[str, Any]) -> None:
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        self.records[self._key(record)] = record


_SINK: JsonlCheckpoint | None = None
_MODEL: str | None = None


@hooks(name="psychosafe_checkpoint", description="Writes each finished psychosafe sample to the run directory.")
class GenerationCheckpointHook(Hooks):
    def enabled(self) -> bool:
        return _SINK is not None

    async def on_sample_end(self, data: SampleEnd) -> None:
        sink = _SINK
        sample = data.sample
        if sink is None or sample.error is not None or sample.output is None:
            return
        metadata = sample.metadata or {}
        sink.append(
            {
                "condition": metadata.get("condition"),
                "id": str(sample.id),
                "response": sample.output.completion,
                "model": _MODEL or sample.output.model,
                "stop_reason": sample.output.stop_reason,
                "output_tokens": sample.output.usage.output_tokens if sample.output.usage else None,
            }
        )


@contextmanager
def recording(sink: JsonlCheckpoint, model: str) -> Iterator[JsonlCheckpoint]:
    """Send finished samples of evals run inside this block to ``sink``."""
    global _SINK, _MODEL
    _SINK, _MODEL = sink, model
    try:
        yield sink
    finally:
        _SINK, _MODEL = None, None
