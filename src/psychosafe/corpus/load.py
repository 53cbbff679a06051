"""Read the corpus shipped in the package (one JSONL file per domain)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cache
from importlib import resources as importlib_resources
from pathlib import Path

from psychosafe.errors import UserError
from psychosafe.records import CorpusRecord, read_jsonl
from psychosafe.taxonomy import DOMAINS, check_domains


def corpus_files() -> list[Path]:
    root = importlib_resources.files("psychosafe.data.corpus")
    return [Path(str(root.joinpath(f"{domain}.jsonl"))) for domain in DOMAINS]


@cache
def _load(paths: tuple[Path, ...]) -> tuple[CorpusRecord, ...]:
    records: list[CorpusRecord] = []
    seen: dict[str, Path] = {}
    for path in paths:
        for record in read_jsonl(path, CorpusRecord):
            if record.id in seen:
                raise UserError(f"{path}: duplicate id {record.id!r} (also in {seen[record.id]})")
            seen[record.id] = path
            records.append(record)
    return tuple(records)


def load_corpus(paths: Iterable[Path] | None = None) -> tuple[CorpusRecord, ...]:
    """All corpus records (the shipped corpus unless ``paths`` is given)."""
    return _load(tuple(paths) if paths is not None else tuple(corpus_files()))


def select(
    records: Sequence[CorpusRecord],
    split: str | None = None,
    domains: Sequence[str] | None = None,
    kinds: Sequence[str] | None = None,
) -> list[CorpusRecord]:
    """Filter records by split (``None`` or ``"all"`` for every split), domains and kinds."""
    if split not in (None, "all", "train", "validation"):
        raise UserError(f"unknown split {split!r}: choose from train, validation, all")
    if domains:
        check_domains(list(domains))
    for kind in kinds or ():
        if kind not in ("risk", "benign"):
            raise UserError(f"unknown item kind {kind!r}: choose from risk, benign")
    return [
        r
        for r in records
        if (split in (None, "all") or r.split == split)
        and (not domains or r.domain in domains)
        and (not kinds or r.kind in kinds)
    ]
