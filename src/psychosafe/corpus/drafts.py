"""Corpus drafts: how the corpus grows beyond hand-written records.

Authors write, for every item, the prompt (single- or multi-turn) and the parts of the response that must be
specific to it: validation of what this person said (``v``), a boundary about exactly what was asked (``b``), a
technique applied to the situation (``t``, with its keys in ``tech``), a safe alternative (``a``) and an open door
(``o``). :func:`build` adds the referral from the help-resource directory (services that fit the record's domain
and locale, plus the emergency number when severity is high or imminent), so every named service is one the
directory holds; :func:`assemble` merges drafts with the hand-written seed, assigns the stratified validation split
and drops any train item that is a near duplicate of a validation prompt; :func:`check_drafts` lists what is wrong
with drafts while they are written (``psychosafe corpus check-drafts``).

Risk draft (one JSON object per line)::

    {"id": "h1-0001", "domain": "suicide_self_harm", "sub": "method_seeking", "sev": "high",
     "intent": "self_directed", "locale": "GB", "turns": ["user text"],
     "v": "...", "b": "...", "t": "...", "tech": ["means_safety"], "a": "...", "o": "..."}

Benign draft: the same labels, ``"kind": "benign"``, ``"response"`` (a whole helpful answer that may hold one
``{REF}`` where a referral fits) and ``"tech"``. ``turns`` alternates user/assistant and ends with a user turn.
"""

from __future__ import annotations

import hashlib
import json
import random
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from psychosafe.corpus.validate import (
    Entry,
    Problem,
    Thresholds,
    _sentences,
    check_harmful,
    mentions,
    resource_patterns,
)
from psychosafe.records import CorpusRecord, JudgeInput
from psychosafe.resources import Directory, Resource, builtin_directory
from psychosafe.taxonomy import (
    BENIGN_SUBCATEGORIES,
    DOMAIN_ABBREVIATIONS,
    DOMAINS,
    INTENTS,
    SEVERITIES,
    SUBCATEGORIES,
    TECHNIQUES,
)

#: ``source`` of every record assembled from drafts.
SOURCE = "authored-v2"
LOCALES = ("US", "GB", "IE", "CA", "AU", "NZ", "IN", "DE")
RISK_PARTS = ("v", "b", "t", "a", "o")

# Referral sentences: every one names the service, so they count as resource lines (exempt from sentence reuse).
# They share one opening on purpose: a referral is the one part of a response where a recognisable, consistent
# form helps (people can scan for it, and a small model can learn to produce it after the boundary).
_ONE = (
    "You can reach {r} ({c}).",
    "You can reach {r} ({c}); they talk with people in exactly this situation.",
    "You can reach {r} ({c}), free and confidential.",
)
_TWO = (
    "You can reach {r} ({c}) or {r2} ({c2}).",
    "You can reach {r} ({c}), or {r2} ({c2}).",
)
#: The emergency sentence: "you" when the risk is the person's own, "anyone" when it is someone else's.
_EMERGENCY = {True: "If you are in danger right now, call {e}.", False: "If anyone is in danger right now, call {e}."}


def _pick(options: tuple[Any, ...] | list[Any], key: str, salt: str) -> Any:
    digest = hashlib.sha256(f"{salt}:{key}".encode()).digest()
    return options[int.from_bytes(digest[:4], "big") % len(options)]


def contact(resource: Resource) -> str:
    parts = []
    if resource.phone:
        parts.append(f"call {resource.phone}")
    if resource.text:
        text = resource.text if resource.text.startswith("text") else f"text {resource.text}"
        parts.append(text)
    if not parts and resource.web:
        parts.append(resource.web.removeprefix("https://").removeprefix("www.").rstrip("/"))
    joined = " or ".join(parts)
    if resource.hours == "24/7" and resource.phone:
        joined += ", any time"
    return joined


def referral(
    directory: Directory,
    domain: str,
    locale: str | None,
    severity: str,
    key: str,
    intent: str = "self_directed",
    subcategory: str | None = None,
) -> tuple[str, list[str]]:
    """A referral for this domain and locale: the best-fitting service (the subcategory's specialist, else the
    locale's first service whose own domain this is, else its first general line: the same one every time, so a
    model can learn it), sometimes a second one, plus the emergency number when severity is high or imminent."""
    pool = [r for r in directory.select(locale, domain) if not r.emergency]
    specialist = [r for r in pool if subcategory and subcategory in r.subcategories]
    # a domain's own service lists it first (a domestic-abuse line also serves violence, but a street fight is not
    # domestic abuse: violence items get the general crisis line)
    specific = specialist or [r for r in pool if len(r.domains) <= 2 and r.domains[0] == domain and not r.subcategories]
    others = [r for r in pool if r not in specific and not r.subcategories]
    general = [r for r in others if len(r.domains) > 2] or others  # another domain's specialist only as a last resort
    first = (specific or general)[0]
    rest = [r for r in (general or specific) if r is not first]
    chosen = [first]
    if rest and _pick((0, 0, 1), key, "two"):
        chosen.append(_pick(rest, key, "second"))
    if len(chosen) == 1:
        text = _pick(_ONE, key, "one").format(r=first.name, c=contact(first))
    else:
        text = _pick(_TWO, key, "two-t").format(
            r=chosen[0].name, c=contact(chosen[0]), r2=chosen[1].name, c2=contact(chosen[1])
        )
    ids = [r.id for r in chosen]
    if severity in ("high", "imminent"):
        emergency = [r for r in directory.select(locale, domain) if r.emergency]
        if emergency:
            e = emergency[0]
            name = "your local emergency number" if e.locale == "INT" else e.name
            text = _EMERGENCY[intent == "self_directed"].format(e=name) + " " + text
            ids.insert(0, e.id)
    text = text[0].upper() + text[1:]
    return text, ids


def _messages(turns: list[str]) -> list[dict[str, str]]:
    return [{"role": "user" if i % 2 == 0 else "assistant", "content": t} for i, t in enumerate(turns)]


def build(draft: dict[str, Any], directory: Directory) -> dict[str, Any]:
    """One corpus record (without a split) from a draft; raises ValueError naming what is wrong."""
    missing = [k for k in ("id", "domain", "sub", "sev", "intent", "turns") if k not in draft]
    if missing:
        raise ValueError(f"missing {', '.join(missing)}")
    domain, kind = draft["domain"], draft.get("kind", "risk")
    if domain not in DOMAINS:
        raise ValueError(f"unknown domain {domain!r}")
    if kind == "risk" and draft["sub"] not in SUBCATEGORIES[domain]:
        raise ValueError(f"subcategory {draft['sub']!r} is not a risk subcategory of {domain}")
    if kind == "benign" and draft["sub"] not in BENIGN_SUBCATEGORIES:
        raise ValueError(f"subcategory {draft['sub']!r} is not a benign subcategory")
    if draft["sev"] not in SEVERITIES or draft["intent"] not in INTENTS:
        raise ValueError(f"severity {draft['sev']!r} / intent {draft['intent']!r} unknown")
    locale = draft.get("locale")
    if locale is not None and locale not in LOCALES:
        raise ValueError(f"locale {locale!r}: use one of {', '.join(LOCALES)} or null")
    turns = draft["turns"]
    if not isinstance(turns, list) or not turns or len(turns) % 2 == 0:
        raise ValueError("turns must be a list of odd length (user, assistant, ..., user)")
    tech = draft.get("tech", [])
    bad = [t for t in tech if t not in TECHNIQUES]
    if bad:
        raise ValueError(f"unknown technique(s) {bad}")
    key = str(draft["id"])
    if kind == "risk":
        parts = [draft.get(p, "").strip() for p in RISK_PARTS]
        if not all(parts):
            raise ValueError(f"risk drafts need non-empty {', '.join(RISK_PARTS)}")
        if not tech:
            raise ValueError("risk drafts need `tech`: the technique keys the response uses")
        ref, ids = referral(directory, domain, locale, draft["sev"], key, draft["intent"], draft["sub"])
        v, b, t, a, o = parts
        response = " ".join([v, b, ref, t, a, o])  # the referral early: a crisis line before anything else
    else:
        text = draft.get("response", "").strip()
        if not text:
            raise ValueError("benign drafts need a response")
        if text.count("{REF}") > 1:
            raise ValueError("at most one {REF} in a benign response")
        ids = []
        if "{REF}" in text:
            ref, ids = referral(directory, domain, locale, "low", key)
            text = text.replace("{REF}", ref)
        response = " ".join(text.split())
    abbr = DOMAIN_ABBREVIATIONS[domain]
    record = {
        "id": f"{abbr}-{'r' if kind == 'risk' else 'b'}-{key}",
        "domain": domain,
        "subcategory": draft["sub"],
        "severity": draft["sev"],
        "intent": draft["intent"],
        "kind": kind,
        "split": "train",
        "locale": locale,
        "messages": _messages(turns),
        "response": response,
        "techniques": tech,
        "resources": ids,
        "source": SOURCE,
    }
    CorpusRecord.model_validate(record)
    return record


def _read(path: Path) -> list[tuple[int, dict[str, Any] | str]]:
    out: list[tuple[int, dict[str, Any] | str]] = []
    for lineno, line in enumerate(path.read_text("utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            out.append((lineno, f"not JSON: {exc}"))
            continue
        out.append((lineno, value if isinstance(value, dict) else "not a JSON object"))
    return out


@dataclass
class DraftCheck:
    """What :func:`check_drafts` found: problems (``file:line: what``) and counts."""

    problems: list[str]
    summary: dict[str, Any]

    def render(self) -> str:
        s = self.summary
        lines = [*self.problems, ""]
        lines.append(f"{s['drafts']} drafts, {len(self.problems)} problems; multi-turn {s['multi_turn']}")
        for key in ("severity", "intent", "locale"):
            lines.append(f"{key}: {s[key]}")
        lines.extend(f"  {cell:60} {n}" for cell, n in s["cells"].items())
        return "\n".join(lines)


def check_drafts(paths: list[Path], max_reuse: int = 4) -> DraftCheck:
    """Every problem of the drafts (schema, content safety, services named by hand, repeated prompts and
    sentences, and what the offline judge reads in the assembled response), with counts per cell."""
    from psychosafe.judge.offline import OfflineJudge

    directory = builtin_directory()
    patterns = resource_patterns(directory)
    judge = OfflineJudge(directory=directory)
    t = Thresholds()  # the rubric bars of validate's rubric rule
    problems: list[str] = []
    cells: Counter[tuple[str, str, str]] = Counter()
    severities: Counter[str] = Counter()
    intents: Counter[str] = Counter()
    locales: Counter[str] = Counter()
    multi = 0
    sentences: dict[str, list[str]] = defaultdict(list)
    prompts: dict[str, str] = {}
    ids: dict[str, str] = {}
    n = 0
    for path in paths:
        for lineno, draft in _read(path):
            where = f"{path.name}:{lineno}"
            if isinstance(draft, str):
                problems.append(f"{where}: {draft}")
                continue
            try:
                record = build(draft, directory)
            except ValueError as exc:
                problems.append(f"{where}: {str(exc).splitlines()[0]}")
                continue
            n += 1
            if record["id"] in ids:
                problems.append(f"{where}: duplicate id {draft['id']!r} (also {ids[record['id']]})")
            ids[record["id"]] = where
            cells[(record["domain"], record["kind"], record["subcategory"])] += 1
            if record["kind"] == "risk":
                severities[record["severity"]] += 1
                intents[record["intent"]] += 1
            locales[record["locale"] or "none"] += 1
            multi += len(draft["turns"]) > 1
            authored = " ".join(draft.get(p, "") for p in RISK_PARTS) if record["kind"] == "risk" else draft["response"]
            harmful: list[Problem] = []  # validate's own harmful-content rule, on the assembled record
            check_harmful(Entry(CorpusRecord.model_validate(record), path, lineno), harmful)
            problems.extend(f"{where}: {p.message}" for p in harmful)
            named = mentions(authored.replace("{REF}", ""), patterns)
            if named:
                problems.append(
                    f"{where}: your text names a service ({', '.join(named)}); leave services to the referral/{{REF}}"
                )
            prompt = " ".join(" ".join(t.lower().split()) for t in draft["turns"][::2])
            if prompt in prompts:
                problems.append(f"{where}: same prompt as {prompts[prompt]}")
            prompts.setdefault(prompt, where)
            for _, _, sentence in _sentences(authored):
                if len(sentence.split()) >= 3:
                    sentences[sentence].append(where)
            item = JudgeInput(
                id=record["id"],
                messages=record["messages"],
                response=record["response"],
                kind=record["kind"],
                domain=record["domain"],
                locale=record["locale"],
            )
            s = judge.judge_one(item).scores
            assert s is not None
            if record["kind"] == "risk":
                if not s.refusal:
                    problems.append(
                        f"{where}: the offline judge does not read a refusal in b (say plainly: I won't ...)"
                    )
                if s.harmful_content:
                    problems.append(f"{where}: the offline judge reads harmful content")
                if s.referral < t.min_referral or s.overall < t.min_overall:
                    problems.append(
                        f"{where}: offline judge referral {s.referral}, overall {s.overall} "
                        f"(need >={t.min_referral}, >={t.min_overall})"
                    )
            else:
                if s.refusal:
                    problems.append(f"{where}: benign response read as a refusal (avoid can't/won't/not able to)")
                if s.harmful_content or s.overall < t.min_benign_overall:
                    problems.append(f"{where}: benign response harmful={s.harmful_content} overall={s.overall}")
    for sentence, wheres in sentences.items():
        if len(wheres) > max_reuse:
            problems.append(f"{wheres[0]}: sentence used {len(wheres)} times (max {max_reuse}): {sentence[:100]!r}")
    summary = {
        "drafts": n,
        "multi_turn": multi,
        "severity": dict(severities),
        "intent": dict(intents),
        "locale": dict(locales),
        "cells": {" ".join(cell): count for cell, count in sorted(cells.items())},
    }
    return DraftCheck(problems, summary)


def _validation(
    records: list[dict[str, Any]], seed_val: list[dict[str, Any]], per_domain: int, benign: int, rng: random.Random
) -> set[str]:
    """Ids of the validation items of one domain: the seed's validation items, then drafts chosen so that every
    severity x intent cell holds about the same number (stratified), subcategories taken in turn."""
    chosen = {r["id"] for r in seed_val}
    cell: Counter[tuple[str, str]] = Counter((r["severity"], r["intent"]) for r in seed_val if r["kind"] == "risk")
    target = per_domain / (len(SEVERITIES) * len(INTENTS))
    risk = [r for r in records if r["kind"] == "risk"]
    rng.shuffle(risk)
    n_risk = sum(1 for r in seed_val if r["kind"] == "risk")
    for strict in (True, False):
        by_sub: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for r in risk:
            if r["id"] not in chosen:
                by_sub[r["subcategory"]].append(r)
        while n_risk < per_domain and any(by_sub.values()):
            for sub in sorted(by_sub):
                if n_risk >= per_domain or not by_sub[sub]:
                    continue
                r = by_sub[sub].pop(0)
                key = (r["severity"], r["intent"])
                if strict and cell[key] >= target:
                    continue
                chosen.add(r["id"])
                cell[key] += 1
                n_risk += 1
    pool = [r for r in records if r["kind"] == "benign" and r["id"] not in chosen]
    rng.shuffle(pool)
    n_benign = sum(1 for r in seed_val if r["kind"] == "benign")
    subs = sorted({r["subcategory"] for r in pool})
    while n_benign < benign and pool:
        for sub in subs:
            pick = next((r for r in pool if r["subcategory"] == sub), None)
            if pick is None or n_benign >= benign:
                continue
            pool.remove(pick)
            chosen.add(pick["id"])
            n_benign += 1
    return chosen


def assemble(paths: list[Path], seed_dir: Path, out: Path, per_domain: int = 100, benign: int = 32) -> dict[str, Any]:
    """Seed corpus + drafts -> one JSONL per domain with splits: validation = the seed's validation items plus
    stratified drafts up to ``per_domain`` risk and ``benign`` benign items per domain; then any train item that is
    a near duplicate of a validation prompt is dropped (validate's measure), so the splits never overlap."""
    from psychosafe.corpus.validate import NearDuplicateIndex, Thresholds, prompt_text

    directory = builtin_directory()
    by_domain: dict[str, list[dict[str, Any]]] = defaultdict(list)
    seed: dict[str, list[dict[str, Any]]] = {}
    for domain in DOMAINS:
        path = seed_dir / f"{domain}.jsonl"
        lines = path.read_text("utf-8").splitlines() if path.is_file() else []
        # records assembled from drafts before are rebuilt from their drafts, not kept twice
        seed[domain] = [json.loads(line) for line in lines if line.strip() and f'"source": "{SOURCE}"' not in line]
    dropped = 0
    for path in paths:
        for lineno, draft in _read(path):
            try:
                if isinstance(draft, str):
                    raise ValueError(draft)
                by_domain[draft.get("domain", "?")].append(build(draft, directory))
            except (ValueError, TypeError, AttributeError) as exc:
                print(f"{path.name}:{lineno}: dropped: {str(exc).splitlines()[0]}", file=sys.stderr)
                dropped += 1
    t = Thresholds()
    rng = random.Random(0)
    out.mkdir(parents=True, exist_ok=True)
    counts: dict[str, Any] = {}
    for domain in DOMAINS:
        seed_records = seed[domain]
        records = by_domain.get(domain, [])
        val_ids = _validation(records, [r for r in seed_records if r["split"] == "validation"], per_domain, benign, rng)
        everything = seed_records + records
        index = NearDuplicateIndex(threshold=t.near_duplicate_jaccard, shingle=t.shingle)
        for r in everything:
            r["split"] = "validation" if r["id"] in val_ids else "train"
            if r["split"] == "validation":
                index.add(r["id"], prompt_text(CorpusRecord.model_validate(r)))
        kept = []
        overlap = 0
        for r in everything:
            if r["split"] == "train" and index.query(prompt_text(CorpusRecord.model_validate(r))):
                overlap += 1
                continue
            kept.append(r)
        with (out / f"{domain}.jsonl").open("w", encoding="utf-8") as fh:
            for record in kept:
                fh.write(json.dumps(record, ensure_ascii=False) + "\n")
        counts[domain] = {"records": len(kept), "validation": len(val_ids), "dropped_near_validation": overlap}
    return counts | {"dropped_drafts": dropped}
