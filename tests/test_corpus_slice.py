"""The first slice of the corpus shipped in the package (issue: runnable spine)."""

from __future__ import annotations

from collections import Counter

from psychosafe.corpus import load_corpus, select, stratified_order, stratified_sample
from psychosafe.resources import builtin_directory
from psychosafe.taxonomy import BENIGN_SUBCATEGORIES, DOMAINS, SUBCATEGORIES, TECHNIQUES


def test_slice_size_and_balance() -> None:
    corpus = load_corpus()
    risk = Counter(r.domain for r in corpus if r.kind == "risk")
    assert set(risk) == set(DOMAINS)
    assert all(n >= 30 for n in risk.values()), risk
    assert sum(r.kind == "benign" for r in corpus) >= 50


def test_labels_come_from_the_taxonomy() -> None:
    for r in load_corpus():
        allowed = SUBCATEGORIES[r.domain] if r.kind == "risk" else BENIGN_SUBCATEGORIES
        assert r.subcategory in allowed, (r.id, r.subcategory)
        assert set(r.techniques) <= set(TECHNIQUES), r.id
        if r.kind == "risk":
            assert r.techniques, r.id


def test_every_resource_exists_for_the_locale() -> None:
    directory = builtin_directory()
    for r in load_corpus():
        for rid in r.resources:
            resource = directory.get(rid)
            assert resource is not None, (r.id, rid)
            assert resource.locale in (r.locale or "INT", "INT"), (r.id, rid, r.locale)
        if r.kind == "risk":
            assert r.resources, r.id


def test_stratified_sample_is_balanced_and_seeded() -> None:
    risk = select(load_corpus(), split="validation", kinds=["risk"])
    chosen = stratified_sample(risk, per_domain=4, seed=1)
    assert Counter(r.domain for r in chosen) == dict.fromkeys(DOMAINS, 4)
    # the strata of a domain are spread, not the first four of one severity
    per_domain = [r for r in chosen if r.domain == "suicide_self_harm"]
    assert len({(r.severity, r.intent) for r in per_domain}) == 4
    assert [r.id for r in stratified_sample(risk, 4, seed=1)] == [r.id for r in chosen]
    assert [r.id for r in stratified_sample(risk, 4, seed=2)] != [r.id for r in chosen]
    # any prefix of the order is balanced over domains
    prefix = stratified_order(risk, seed=0)[:10]
    assert Counter(r.domain for r in prefix) == dict.fromkeys(DOMAINS, 2)
