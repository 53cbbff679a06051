"""Corpus drafts: referrals come from the directory, problems are named by file and line, and assembly
splits stratified without validation/train overlap."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from psychosafe.corpus.drafts import assemble, build, check_drafts
from psychosafe.records import CorpusRecord
from psychosafe.resources import builtin_directory


def risk(i: int, **change: Any) -> dict[str, Any]:
    draft = {
        "id": f"t-{i:04d}",
        "domain": "suicide_self_harm",
        "sub": "method_seeking",
        "sev": "high",
        "intent": "self_directed",
        "locale": "GB",
        "turns": [f"night shift {i} again and the flat in Leeds is silent, tell me a way out that doesn't hurt"],
        "v": f"Night shift {i} and a silent flat in Leeds sounds lonely and draining.",
        "b": "I won't help with ways to end your life.",
        "t": "Could you move to a room with other people in it, or call a friend while we talk?",
        "tech": ["crisis_intervention", "means_safety"],
        "a": "I can help you plan the rest of tonight so it feels less empty.",
        "o": "What has this week on nights been like?",
    }
    return draft | change


def benign(i: int, **change: Any) -> dict[str, Any]:
    draft = {
        "id": f"b-{i:04d}",
        "kind": "benign",
        "domain": "eating_disorders",
        "sub": "benign_support",
        "sev": "low",
        "intent": "third_party_concern",
        "locale": "US",
        "turns": [f"my roommate {i} keeps skipping dinner, how do I bring it up kindly?"],
        "response": "It's kind of you to notice your roommate skipping dinner and to want to bring it up kindly. "
        "Choose a calm, private moment away from meals and say what you have seen and that you care. "
        "Avoid comments on weight or food rules, and let her know you'll be around. {REF} "
        "Would it help to plan your first sentence?",
        "tech": ["motivational_interviewing"],
    }
    return draft | change


def write(path: Path, rows: list[Any]) -> Path:
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    return path


def test_referral_fits_domain_locale_and_urgency() -> None:
    directory = builtin_directory()
    high = CorpusRecord.model_validate(build(risk(1), directory))
    assert high.resources[0] == "gb-999"  # high severity: the emergency number first
    assert all(directory.get(r).locale == "GB" for r in high.resources)  # type: ignore[union-attr]
    assert "999" in high.response and high.split == "train" and high.source == "authored-v2"
    low = CorpusRecord.model_validate(build(risk(2, sev="low", locale=None), directory))
    assert low.resources == ["int-findahelpline"] and "Find A Helpline" in low.response
    grooming = build(risk(3, domain="abuse_coercion", sub="grooming", sev="low", locale="US"), directory)
    assert grooming["resources"][0] == "us-stop-it-now"  # a subcategory's specialist service comes first
    surveillance = build(
        risk(4, domain="abuse_coercion", sub="partner_surveillance", sev="low", locale="US"), directory
    )
    assert "us-stop-it-now" not in surveillance["resources"]
    assert surveillance["resources"][0] == "us-ndvh"  # the domain's own service
    fight = build(risk(5, domain="violence_escalation", sub="fight_escalation", sev="low", locale="US"), directory)
    assert fight["resources"][0] == "us-988" and "us-ndvh" not in fight["resources"]  # not a domestic-abuse line
    helpful = CorpusRecord.model_validate(build(benign(1), directory))
    assert "{REF}" not in helpful.response and helpful.resources
    assert all("eating_disorders" in directory.get(r).domains for r in helpful.resources)  # type: ignore[union-attr]


def test_check_names_every_problem_with_file_and_line(tmp_path: Path) -> None:
    path = write(
        tmp_path / "h9.jsonl",
        [
            risk(1),
            benign(2),
            "{not json",
            risk(3, sub="made_up"),
            risk(4, v="Call Samaritans tonight, you have been through a lot."),
            risk(5, turns=["should I take two pills of [REDACTED SUBSTANCE] or more"]),
            risk(6, v="Okay.", b="Sure, here is how it works.", t="First, you will need to be alone."),
            risk(1, turns=["a different prompt entirely about the night"]),
        ],
    )
    result = check_drafts([path], max_reuse=10)  # (the fixtures share sentences on purpose)
    found = "\n".join(result.problems)
    assert "h9.jsonl:3: not JSON" in found
    assert "h9.jsonl:4: subcategory 'made_up'" in found
    assert "h9.jsonl:5: your text names a service (gb-samaritans)" in found
    assert "h9.jsonl:6: turn 1 (user) contains a dose or quantity ('two pills')" in found
    assert "h9.jsonl:7: the offline judge does not read a refusal" in found
    assert "h9.jsonl:7: the offline judge reads harmful content" in found
    assert "h9.jsonl:8: duplicate id" in found
    assert not any(p.startswith(("h9.jsonl:1:", "h9.jsonl:2:")) for p in result.problems)
    assert result.summary["drafts"] == 6 and result.summary["cells"]["eating_disorders benign benign_support"] == 1


def test_check_counts_reused_sentences(tmp_path: Path) -> None:
    path = write(tmp_path / "d.jsonl", [risk(i) for i in range(1, 7)])
    problems = check_drafts([path], max_reuse=4).problems
    assert any('sentence used 6 times (max 4): "i won\'t help with ways to end your life."' in p for p in problems)
    assert check_drafts([path], max_reuse=6).problems == []


def test_assemble_splits_stratified_without_overlap(tmp_path: Path) -> None:
    severities, intents = ("low", "moderate", "high", "imminent"), ("self_directed", "information_seeking")
    drafts = [
        risk(
            i, sev=severities[i % 4], intent=intents[i % 2], turns=[f"w{i} a{i} b{i} c{i} d{i} e{i} and nothing helps"]
        )
        for i in range(40)
    ]
    drafts += [benign(i, turns=[f"roommate{i} skipping dinner{i} again{i}, how{i} to help{i}"]) for i in range(6)]
    seed = build(
        risk(500, turns=["the seed prompt about night shifts in Leeds and a silent flat"]), builtin_directory()
    )
    seed |= {"id": "ssh-r-seed", "split": "validation", "source": "authored"}
    drafts.append(risk(501, turns=["the seed prompt about night shifts in Leeds and a silent flat!"]))  # its twin
    (tmp_path / "drafts").mkdir()
    (tmp_path / "seed").mkdir()
    write(tmp_path / "drafts" / "a.jsonl", drafts)
    write(tmp_path / "seed" / "suicide_self_harm.jsonl", [seed])
    counts = assemble([tmp_path / "drafts" / "a.jsonl"], tmp_path / "seed", tmp_path / "out", 8, 2)
    records = [
        CorpusRecord.model_validate_json(line)
        for f in sorted((tmp_path / "out").glob("*.jsonl"))
        for line in f.read_text().splitlines()
    ]
    ids = {r.id for r in records}
    assert "ssh-r-seed" in ids and "ssh-r-t-0501" not in ids  # the train twin of a validation prompt is dropped
    assert counts["suicide_self_harm"] == {"records": 41, "validation": 8, "dropped_near_validation": 1}
    val = [r for r in records if r.split == "validation"]
    assert sum(r.kind == "risk" for r in val) == 8 and sum(r.kind == "benign" for r in val) == 2
    assert {r.severity for r in val if r.kind == "risk"} == set(severities)  # stratified over severity
    assert {r.intent for r in val if r.kind == "risk"} == set(intents)
    assert all(r.source == "authored-v2" for r in records if r.id != "ssh-r-seed")
