"""Stratified, seeded selection of items: balanced over domains, then severity x intent."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence
from itertools import zip_longest

from psychosafe.records import CorpusRecord


def _round_robin(groups: list[list[CorpusRecord]]) -> list[CorpusRecord]:
    return [item for row in zip_longest(*groups) for item in row if item is not None]


def stratified_order(records: Sequence[CorpusRecord], seed: int = 0) -> list[CorpusRecord]:
    """Order records so that any prefix is balanced over domains and, within a domain,
    spread over the (severity, intent) strata. Deterministic for a given seed."""
    rng = random.Random(seed)
    by_domain: dict[str, dict[tuple[str, str], list[CorpusRecord]]] = defaultdict(lambda: defaultdict(list))
    for record in sorted(records, key=lambda r: r.id):
        by_domain[record.domain][(record.severity, record.intent)].append(record)
    per_domain: list[list[CorpusRecord]] = []
    for domain in sorted(by_domain):
        strata = [by_domain[domain][key] for key in sorted(by_domain[domain])]
        for stratum in strata:
            rng.shuffle(stratum)
        rng.shuffle(strata)
        per_domain.append(_round_robin(strata))
    return _round_robin(per_domain)


def stratified_sample(records: Sequence[CorpusRecord], per_domain: int, seed: int = 0) -> list[CorpusRecord]:
    """At most ``per_domain`` records from each domain, stratified (see :func:`stratified_order`)."""
    taken: dict[str, int] = defaultdict(int)
    chosen = []
    for record in stratified_order(records, seed):
        if taken[record.domain] < per_domain:
            taken[record.domain] += 1
            chosen.append(record)
    return chosen
