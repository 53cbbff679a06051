"""``psychosafe corpus export``: the corpus as a Hugging Face ``datasets`` directory, plain JSONL, or chat JSONL.

- ``hf``: ``DatasetDict`` with ``train`` and ``validation`` splits, saved with ``save_to_disk`` (load it back with
  ``datasets.load_from_disk(DIR)``); one column per :class:`~psychosafe.records.CorpusRecord` field.
- ``jsonl``: ``DIR/train.jsonl`` and ``DIR/validation.jsonl``, one record per line, as in the corpus files.
- ``chat``: ``DIR/train.jsonl`` and ``DIR/validation.jsonl`` in TRL's conversational format: ``messages`` =
  the system prompt of a prompting condition (``--system``, default ``psychosafe``; ``none`` for no system turn),
  the conversation, and the corpus response as the final assistant turn; plus ``id``, ``domain``, ``kind``.
  ``datasets.load_dataset("json", data_files=...)`` loads it and TRL's ``SFTTrainer`` trains on it as it is.

Every format also writes ``DIR/export.json`` (format, counts per split, source directory, corpus sha256).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from psychosafe.errors import UserError
from psychosafe.records import CorpusRecord
from psychosafe.taxonomy import SPLITS

FORMATS: tuple[str, ...] = ("hf", "jsonl", "chat")


def chat_example(record: CorpusRecord, system: str | None) -> dict[str, Any]:
    messages = [{"role": "system", "content": system}] if system else []
    messages += [m.model_dump() for m in record.messages if not (system and m.role == "system")]
    messages.append({"role": "assistant", "content": record.response})
    return {"messages": messages, "id": record.id, "domain": record.domain, "kind": record.kind}


def _features() -> Any:
    from datasets import Features, Value

    string = Value("string")
    return Features(
        {
            "id": string,
            "domain": string,
            "subcategory": string,
            "severity": string,
            "intent": string,
            "kind": string,
            "split": string,
            "locale": string,
            "messages": [{"role": string, "content": string}],
            "response": string,
            "techniques": [string],
            "resources": [string],
            "source": string,
        }
    )


def _write_jsonl(path: Path, rows: Sequence[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def export(
    records: Sequence[CorpusRecord],
    fmt: str,
    out: Path,
    system: str = "psychosafe",
    overwrite: bool = False,
    source: str = "",
) -> dict[str, Any]:
    """Write ``records`` to ``out`` in ``fmt``; returns the manifest written to ``out/export.json``."""
    if fmt not in FORMATS:
        raise UserError(f"unknown export format {fmt!r}: choose from {', '.join(FORMATS)}")
    if out.exists() and not out.is_dir():
        raise UserError(f"{out} is a file: give --out a directory")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise UserError(f"{out} is not empty: choose a new --out directory or pass --overwrite")
    system_text = None
    if fmt == "chat" and system != "none":
        from psychosafe.prompts import load_prompt

        system_text = load_prompt(system).text
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create {out} ({exc.strerror}): choose another --out") from None
    by_split = {split: [r for r in records if r.split == split] for split in SPLITS}
    if fmt == "hf":
        try:
            from datasets import Dataset, DatasetDict
        except ImportError:
            raise UserError("--format hf needs datasets: pip install 'psychosafe[corpus]'") from None

        features = _features()
        DatasetDict(
            {
                split: Dataset.from_list([r.model_dump(mode="json") for r in rows], features=features)
                for split, rows in by_split.items()
            }
        ).save_to_disk(str(out))
    else:
        for split, rows in by_split.items():
            lines = [chat_example(r, system_text) if fmt == "chat" else r.model_dump(mode="json") for r in rows]
            _write_jsonl(out / f"{split}.jsonl", lines)
    digest = hashlib.sha256()
    for record in sorted(records, key=lambda r: r.id):
        digest.update(record.model_dump_json().encode())
    manifest = {
        "format": fmt,
        "counts": {split: len(rows) for split, rows in by_split.items()},
        "system_prompt": system if fmt == "chat" else None,
        "source": source,
        "corpus_sha256": digest.hexdigest(),
    }
    (out / "export.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest
