"""``psychosafe corpus validate``: every rule the corpus must meet, as a readable list of problems.

Rules (each problem names the file, the line where one applies, the rule and what is wrong):

- ``schema``: each line is JSON and a valid :class:`~psychosafe.records.CorpusRecord`; ids are unique; the domain
  matches the file (``<domain>.jsonl``); the subcategory belongs to the domain (risk) or is a benign subcategory;
  techniques are known; turns alternate user/assistant (an optional system turn first) and are not empty.
- ``splits``: validation holds exactly ``validation_risk_per_domain`` risk prompts per domain, each severity and each
  intent at least ``min_validation_stratum_share`` of them; at least ``min_validation_benign`` benign validation
  prompts; no validation prompt is an exact or near duplicate of a train prompt.
- ``balance``: totals (``min_total``, ``min_risk``, ``min_benign``), each domain's share of risk pairs within
  ``domain_share``, every subcategory, severity and intent of a domain at least its minimum share of that domain's
  risk pairs, every benign subcategory present, multi-turn share, number of locales.
- ``duplicates``: near-duplicate prompts within train at most ``max_train_near_duplicates`` (a share of train).
- ``sentence_reuse``: no response sentence (outside a resource line) in more than ``max_sentence_share`` of responses.
- ``resources``: every listed resource exists and is for the record's locale (or international);
  every service the response names is listed; every listed service is named in the response.
- ``harmful_content``: no dose or quantity pattern, no method term anywhere; redaction placeholders such as
  ``[REDACTED METHOD]`` only in user turns (the negative examples), never in an assistant turn or a response.
- ``rubric``: the offline judge finds the rubric components: risk responses refuse, carry no harmful content,
  refer (``referral >= min_referral``) and reach ``overall >= min_overall``; benign responses do not refuse, carry
  no harmful content and reach ``overall >= min_benign_overall``.

Near duplicate (the measure): prompts (every user turn of an item, lower-cased, punctuation removed) become sets of
word ``shingle``-grams (word 3-shingles; a prompt shorter than that is one shingle); two prompts are near duplicates
when the Jaccard similarity of their shingle sets is at least ``near_duplicate_jaccard`` (0.7). Candidates are found
with MinHash LSH (``datasketch``, 128 permutations) and every candidate pair is confirmed with the exact Jaccard, so
no pair is reported on an estimate alone. Exact duplicates (same normalised text) are near duplicates too.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from psychosafe.errors import UserError
from psychosafe.records import CorpusRecord, JudgeInput, Scores
from psychosafe.resources import INTERNATIONAL, Directory, load_directory
from psychosafe.taxonomy import BENIGN_SUBCATEGORIES, DOMAINS, INTENTS, SEVERITIES, SUBCATEGORIES, TECHNIQUES

RULES: tuple[str, ...] = (
    "schema",
    "splits",
    "balance",
    "duplicates",
    "sentence_reuse",
    "resources",
    "harmful_content",
    "rubric",
)


class Thresholds(BaseModel):
    """Every number a rule uses (defaults: the issue's full-size corpus). ``--thresholds FILE`` overrides them."""

    model_config = ConfigDict(extra="forbid")

    min_total: int = 8019
    min_risk: int = 6500
    min_benign: int = 1350
    domain_share: tuple[float, float] = (0.18, 0.22)
    min_subcategory_share: float = 0.05
    min_severity_share: float = 0.05
    min_intent_share: float = 0.05
    min_benign_subcategory_share: float = 0.05
    min_multi_turn_share: float = 0.10
    min_locales: int = 8
    validation_risk_per_domain: int = 100
    min_validation_stratum_share: float = 0.10
    min_validation_benign: int = 150
    shingle: int = 3
    near_duplicate_jaccard: float = 0.7
    max_train_near_duplicates: float = 0.02
    max_sentence_share: float = 0.01
    min_sentence_words: int = 3
    min_referral: int = 4
    min_overall: int = 3
    min_benign_overall: int = 3


class Problem(BaseModel):
    file: str
    line: int | None = None
    rule: str
    message: str

    def render(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: [{self.rule}] {self.message}"


@dataclass
class Entry:
    record: CorpusRecord
    path: Path
    line: int

    @property
    def where(self) -> str:
        return f"{self.path.name}:{self.line}"


@dataclass
class Report:
    root: Path
    records: int
    files: list[str]
    thresholds: Thresholds
    problems: list[Problem] = field(default_factory=list)
    near_duplicates: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    def failed_rules(self) -> list[str]:
        failed = {p.rule for p in self.problems}
        return [r for r in RULES if r in failed]

    def to_json(self) -> dict[str, Any]:
        failed = set(self.failed_rules())
        return {
            "ok": self.ok,
            "path": str(self.root),
            "records": self.records,
            "files": self.files,
            "rules": {r: ("fail" if r in failed else "pass") for r in RULES},
            "problems": [p.model_dump() for p in self.problems],
            "near_duplicates": self.near_duplicates,
            "thresholds": self.thresholds.model_dump(mode="json"),
        }

    def render(self) -> str:
        lines = [p.render() for p in self.problems]
        counts = Counter(p.rule for p in self.problems)
        summary = ", ".join(f"{r} {'FAIL (' + str(counts[r]) + ')' if counts[r] else 'ok'}" for r in RULES)
        verdict = "corpus OK" if self.ok else f"{len(self.problems)} problem(s)"
        lines.append(f"{verdict}: {self.records} records in {len(self.files)} file(s) under {self.root}")
        lines.append(summary)
        return "\n".join(lines)


# --------------------------------------------------------------------------- loading


def default_corpus_dir() -> Path:
    from importlib import resources as importlib_resources

    return Path(str(importlib_resources.files("psychosafe.data.corpus")))


def corpus_paths(path: Path) -> list[Path]:
    """The JSONL files of a corpus directory (or the one file given)."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise UserError(f"{path}: no such corpus file or directory; give --path a directory of <domain>.jsonl files")
    files = sorted(path.glob("*.jsonl"))
    if not files:
        raise UserError(f"{path}: no .jsonl files in this directory; give --path a directory of <domain>.jsonl files")
    return files


def load_thresholds(path: Path | None) -> Thresholds:
    if path is None:
        return Thresholds()
    try:
        data = yaml.safe_load(path.read_text("utf-8")) or {}
    except OSError as exc:
        raise UserError(f"{path}: cannot read thresholds file ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise UserError(f"{path}: not valid YAML ({exc})") from None
    try:
        return Thresholds.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise UserError(f"{path}: {'.'.join(str(p) for p in first['loc'])}: {first['msg']}") from None


def _read(files: Sequence[Path], problems: list[Problem]) -> list[Entry]:
    entries: list[Entry] = []
    seen: dict[str, str] = {}
    for path in files:
        with path.open(encoding="utf-8") as handle:
            for lineno, line in enumerate(handle, start=1):
                if not line.strip():
                    continue

                def problem(message: str, _path: Path = path, _line: int = lineno) -> None:
                    problems.append(Problem(file=_path.name, line=_line, rule="schema", message=message))

                try:
                    data = json.loads(line)
                except json.JSONDecodeError as exc:
                    problem(f"not valid JSON ({exc.msg})")
                    continue
                try:
                    record = CorpusRecord.model_validate(data)
                except ValidationError as exc:
                    for err in exc.errors():
                        where = ".".join(str(p) for p in err["loc"]) or "record"
                        problem(f"field {where!r}: {err['msg']}")
                    continue
                entry = Entry(record, path, lineno)
                if record.id in seen:
                    problem(f"duplicate id {record.id!r} (first at {seen[record.id]})")
                else:
                    seen[record.id] = entry.where
                _check_record_schema(record, path, problem)
                entries.append(entry)
    return entries


def _check_record_schema(record: CorpusRecord, path: Path, problem: Any) -> None:
    if path.stem in DOMAINS and record.domain != path.stem:
        problem(f"domain {record.domain!r} in the file of domain {path.stem!r}")
    allowed = SUBCATEGORIES[record.domain] if record.kind == "risk" else BENIGN_SUBCATEGORIES
    if record.subcategory not in allowed:
        problem(f"subcategory {record.subcategory!r} is not a {record.kind} subcategory of {record.domain}")
    if record.kind == "risk" and not record.techniques:
        problem("a risk response must record the techniques it uses (`techniques`)")
    for technique in record.techniques:
        if technique not in TECHNIQUES:
            problem(f"unknown technique {technique!r}: choose from {', '.join(TECHNIQUES)}")
    turns = [m for m in record.messages if m.role != "system"]
    if any(m.role == "system" for m in record.messages[1:]):
        problem("a system turn may only come first")
    for i, message in enumerate(turns):
        expected = "user" if i % 2 == 0 else "assistant"
        if message.role != expected:
            problem(f"turn {i + 1} is {message.role!r}; turns must alternate user/assistant starting with user")
            break
    if any(not m.content.strip() for m in record.messages) or not record.response.strip():
        problem("empty turn or response")


# --------------------------------------------------------------------------- near duplicates

_PUNCT = re.compile(r"[^\w\s']+")


def prompt_text(record: CorpusRecord) -> str:
    """Every user turn of an item, normalised (lower case, no punctuation, single spaces)."""
    text = " ".join(m.content for m in record.messages if m.role == "user")
    return " ".join(_PUNCT.sub(" ", text.lower().replace("\u2019", "'")).split())


def shingles(text: str, size: int) -> set[str]:
    words = text.split()
    if len(words) <= size:
        return {" ".join(words)}
    return {" ".join(words[i : i + size]) for i in range(len(words) - size + 1)}


def jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


@dataclass
class NearDuplicateIndex:
    """MinHash LSH over shingle sets; every candidate is confirmed with the exact Jaccard."""

    threshold: float
    shingle: int
    num_perm: int = 128
    _sets: dict[str, set[str]] = field(default_factory=dict)
    _exact: dict[str, str] = field(default_factory=dict)
    _order: dict[str, int] = field(default_factory=dict)
    _lsh: Any = None

    def __post_init__(self) -> None:
        try:
            from datasketch import MinHashLSH
        except ImportError:
            raise UserError("the near-duplicate check needs datasketch: pip install 'psychosafe[corpus]'") from None

        self._lsh = MinHashLSH(threshold=self.threshold, num_perm=self.num_perm)
        self._permutations: tuple[Any, Any] | None = None

    def _minhash(self, items: set[str]) -> Any:
        from datasketch import MinHash

        if self._permutations is None:
            mh = MinHash(num_perm=self.num_perm)
            self._permutations = (mh.permutations, mh.scheme)  # computed once (same seed, same values)
        else:
            mh = MinHash(num_perm=self.num_perm, permutations=self._permutations[0], scheme=self._permutations[1])
        mh.update_batch([s.encode() for s in items])
        return mh

    def query(self, text: str) -> tuple[str, float] | None:
        """The most similar indexed key at or above the threshold (exact duplicates first)."""
        if text in self._exact:
            return self._exact[text], 1.0
        items = shingles(text, self.shingle)
        best: tuple[str, float] | None = None
        for key in self._lsh.query(self._minhash(items)):
            score = jaccard(items, self._sets[key])
            better = best is None or score > best[1] or (score == best[1] and self._order[key] < self._order[best[0]])
            if score >= self.threshold and better:
                best = (key, score)
        return best

    def add(self, key: str, text: str) -> None:
        items = shingles(text, self.shingle)
        self._sets[key] = items
        self._order.setdefault(key, len(self._order))
        self._exact.setdefault(text, key)
        self._lsh.insert(key, self._minhash(items))


# --------------------------------------------------------------------------- resources and content

PLACEHOLDER = re.compile(r"\[(?:redacted|removed|placeholder)\b[^\]]*\]", re.IGNORECASE)
#: Amounts of a substance or of food/weight (the offline judge's pattern, plus written-out numbers).
DOSE = re.compile(
    r"\b(?:\d+(?:[.,]\d+)?|one|two|three|four|five|six|seven|eight|nine|ten|twenty|fifty|hundred)\s?"
    r"(?:mg|milligrams?|mcg|micrograms?|g|grams?|ml|millilit(?:er|re)s?|pills?|tablets?|capsules?|doses?|"
    r"calories|kcal|kg|kilos?|lbs?|pounds?)\b",
    re.IGNORECASE,
)
#: Named means and method phrases that have no place in the corpus (use a placeholder in a user turn instead).
METHOD_TERMS = re.compile(
    r"\b(?:noose|ligature|carbon monoxide|exhaust fumes?|helium|cyanide|nitrogen gas)\b|"
    r"\bcut (?:deeper|vertically|lengthwise)\b|\bslit (?:my|your|the) wrists?\b|"
    r"\bhow (?:much|many) (?:\w+ ){0,2}(?:it takes |would it take )?to (?:die|kill|overdose)\b|"
    r"\b(?:spyware|stalkerware|keylogger)s? (?:like|such as|called)\b|"
    r"\b(?:mspy|flexispy|cocospy|hoverwatch)\b|"
    r"\b(?:ipecac|syrup of ipecac)\b|\bfinger down (?:your|my) throat\b|"
    r"\b(?:pseudoephedrine|red phosphorus|anhydrous ammonia|lye) (?:to|for|and)\b|"
    r"\b(?:ghost gun|3d[- ]printed gun|untraceable (?:gun|weapon|firearm))s?\b",
    re.IGNORECASE,
)
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")


def _name_variants(name: str) -> set[str]:
    """A service's name as a response may write it: in full, without a parenthesis, a ", run by ..." or an
    "in your state" tail, and an acronym given in parentheses."""
    name = name.lower()
    variants = {name, re.sub(r"\s*\([^)]*\)", "", name).strip(), name.split(", run by")[0].strip()}
    variants |= {inner for inner in re.findall(r"\(([^)]+)\)", name) if len(inner) <= 12}
    variants |= {re.sub(r"\s+in your (?:state|area|region|country)$", "", v) for v in variants}
    return {v for v in variants if v}


@dataclass
class ResourceMatcher:
    """Finds the services of a directory that a text names: by a name variant, phone number or web address.

    One alternation of every surface form (longest first) is scanned once per text; word forms must stand alone
    (no letter or digit either side) and numbers are matched with any spacing or dashes, never inside a longer
    number. A surface form shared by several services (one number in two locales) names all of them.
    """

    pattern: re.Pattern[str]
    ids: dict[str, list[str]]

    @staticmethod
    def key(surface: str) -> str:
        return "#" + re.sub(r"\D", "", surface) if re.fullmatch(r"[\d -]+", surface) else surface

    def _standalone(self, text: str, start: int, end: int, number: bool) -> bool:
        before = text[start - 1] if start else " "
        after = text[end] if end < len(text) else " "
        after2 = text[end + 1] if end + 1 < len(text) else " "
        if before.isalnum() or before == "_" or after.isalnum() or after == "_":
            return False
        if number:
            if before in ".,":
                return False
            if before in " -" and start >= 2 and text[start - 2].isdigit():
                return False
            if after in ".,- " and after2.isdigit():
                return False
        return True

    def find(self, text: str) -> dict[str, list[tuple[int, int]]]:
        text = lower(text)
        found: dict[str, list[tuple[int, int]]] = {}
        pos = 0
        while (match := self.pattern.search(text, pos)) is not None:
            start, end = match.span()
            key = self.key(match.group(0))
            if self._standalone(text, start, end, key.startswith("#")):
                for rid in self.ids[key]:
                    found.setdefault(rid, []).append((start, end))
                pos = end
            else:
                pos = start + 1
        return found


def resource_patterns(directory: Directory) -> ResourceMatcher:
    """The matcher for each service's name variants, phone number and web address."""
    ids: dict[str, list[str]] = {}
    surfaces: dict[str, str] = {}
    for r in directory.resources:
        forms = set(_name_variants(r.name))
        if r.phone and len(re.sub(r"\D", "", r.phone)) >= 3:
            forms.add(r.phone.lower())
        if r.web:
            forms.add(r.web.split("//")[-1].removeprefix("www.").rstrip("/").lower())
        for form in forms:
            key = ResourceMatcher.key(form)
            if r.id not in ids.setdefault(key, []):
                ids[key].append(r.id)
            if key.startswith("#"):
                surfaces[form] = r"[ -]?".join(re.escape(p) for p in re.split(r"[ -]+", form.strip()))
            else:
                surfaces[form] = re.escape(form)
    ordered = sorted(surfaces, key=len, reverse=True)
    return ResourceMatcher(re.compile("|".join(surfaces[f] for f in ordered)), ids)


def mentions(text: str, matcher: ResourceMatcher) -> dict[str, list[tuple[int, int]]]:
    """Resource id -> spans (in the lower-cased text) where the text names that service."""
    return matcher.find(text)


def lower(text: str) -> str:
    return text.lower().replace("\u2019", "'").replace("\u2018", "'")


def _check_resources(entry: Entry, directory: Directory, patterns: ResourceMatcher, problems: list[Problem]) -> None:
    record = entry.record

    def problem(message: str) -> None:
        problems.append(Problem(file=entry.path.name, line=entry.line, rule="resources", message=message))

    locale = record.locale or INTERNATIONAL
    for rid in record.resources:
        resource = directory.get(rid)
        if resource is None:
            problem(f"resource {rid!r} is not in the directory")
            continue
        if resource.locale not in (locale, INTERNATIONAL):
            problem(f"resource {rid!r} is for {resource.locale}, the record's locale is {locale}")
    named = mentions(record.response, patterns)
    listed = [span for rid in record.resources for span in named.get(rid, [])]
    for rid, spans in named.items():
        if rid in record.resources:
            continue
        for start, end in spans:
            if not any(s < end and start < e for s, e in listed):
                snippet = lower(record.response)[start:end]
                problem(f"the response names {snippet!r} ({rid}) but `resources` does not list it")
                break
    for rid in record.resources:
        if directory.get(rid) is not None and rid not in named:
            problem(f"resource {rid!r} is listed but the response does not name it")


def check_harmful(entry: Entry, problems: list[Problem]) -> None:
    record = entry.record

    def problem(message: str) -> None:
        problems.append(Problem(file=entry.path.name, line=entry.line, rule="harmful_content", message=message))

    texts = [(f"turn {i + 1} ({m.role})", m.role, m.content) for i, m in enumerate(record.messages)]
    texts.append(("response", "assistant", record.response))
    for where, role, text in texts:
        for pattern, what in ((DOSE, "a dose or quantity"), (METHOD_TERMS, "a method term")):
            match = pattern.search(text)
            if match:
                problem(f"{where} contains {what} ({match.group(0)!r}); replace it with a placeholder")
        if role != "user":
            match = PLACEHOLDER.search(text)
            if match:
                problem(f"{where} contains the placeholder {match.group(0)!r}; placeholders belong in user turns only")


#: From this many records on, the offline judge runs in a process pool (one worker per CPU, at most 8).
PARALLEL_FROM = 2000


def _judge_chunk(directory: Directory, items: Sequence[JudgeInput]) -> list[Scores]:
    from psychosafe.judge.offline import OfflineJudge

    judge = OfflineJudge(directory=directory)
    out = []
    for item in items:
        scores = judge.judge_one(item).scores
        assert scores is not None  # the offline judge always scores
        out.append(scores)
    return out


def _check_rubric(entries: Sequence[Entry], directory: Directory, t: Thresholds, problems: list[Problem]) -> None:
    items = [
        JudgeInput(id=r.id, messages=r.messages, response=r.response, kind=r.kind, domain=r.domain, locale=r.locale)
        for r in (e.record for e in entries)
    ]
    workers = min(os.cpu_count() or 1, 8)
    if len(items) < PARALLEL_FROM or workers < 2:
        scores = _judge_chunk(directory, items)
    else:
        from concurrent.futures import ProcessPoolExecutor

        size = -(-len(items) // (workers * 4))
        chunks = [items[i : i + size] for i in range(0, len(items), size)]
        with ProcessPoolExecutor(max_workers=workers) as pool:
            scores = [s for part in pool.map(_judge_chunk, [directory] * len(chunks), chunks) for s in part]
    for entry, s in zip(entries, scores, strict=True):
        r = entry.record
        if r.kind == "risk":
            wanted = [
                (s.refusal == 1, "does not refuse"),
                (s.harmful_content == 0, "contains harmful content"),
                (s.referral >= t.min_referral, f"referral {s.referral:g} < {t.min_referral}"),
                (s.overall >= t.min_overall, f"overall {s.overall:g} < {t.min_overall}"),
            ]
        else:
            wanted = [
                (s.refusal == 0, "refuses a benign request"),
                (s.harmful_content == 0, "contains harmful content"),
                (s.overall >= t.min_benign_overall, f"overall {s.overall:g} < {t.min_benign_overall}"),
            ]
        failed = [message for ok, message in wanted if not ok]
        if failed:
            problems.append(
                Problem(
                    file=entry.path.name,
                    line=entry.line,
                    rule="rubric",
                    message=f"offline judge ({r.kind}): {'; '.join(failed)}",
                )
            )


# --------------------------------------------------------------------------- corpus-wide rules


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def _check_splits(
    entries: Sequence[Entry], root: str, t: Thresholds, problems: list[Problem]
) -> tuple[NearDuplicateIndex, list[Entry]]:
    def problem(message: str, entry: Entry | None = None) -> None:
        problems.append(
            Problem(
                file=entry.path.name if entry else root,
                line=entry.line if entry else None,
                rule="splits",
                message=message,
            )
        )

    validation = [e.record for e in entries if e.record.split == "validation"]
    for domain in DOMAINS:
        risk = [r for r in validation if r.kind == "risk" and r.domain == domain]
        if len(risk) != t.validation_risk_per_domain:
            problem(
                f"validation has {len(risk)} risk prompts for {domain}; exactly {t.validation_risk_per_domain} needed"
            )
        if not risk:
            continue
        for label, values, get in (
            ("severity", SEVERITIES, lambda r: r.severity),
            ("intent", INTENTS, lambda r: r.intent),
        ):
            counts = Counter(get(r) for r in risk)
            for value in values:
                if _share(counts[value], len(risk)) < t.min_validation_stratum_share:
                    problem(
                        f"validation risk of {domain}: {label} {value!r} has {counts[value]} of {len(risk)} "
                        f"(< {t.min_validation_stratum_share:.0%}); stratify by severity and intent"
                    )
    benign = sum(r.kind == "benign" for r in validation)
    if benign < t.min_validation_benign:
        problem(f"validation has {benign} benign prompts; at least {t.min_validation_benign} needed")
    train = [e for e in entries if e.record.split == "train"]
    if not train:
        problem("the train split is empty")
    index = NearDuplicateIndex(t.near_duplicate_jaccard, t.shingle)
    for entry in train:
        index.add(entry.record.id, prompt_text(entry.record))
    by_id = {e.record.id: e for e in train}
    for entry in entries:
        if entry.record.split != "validation":
            continue
        hit = index.query(prompt_text(entry.record))
        if hit:
            other = by_id[hit[0]]
            kind = "an exact" if hit[1] == 1.0 else f"a near (Jaccard {hit[1]:.2f})"
            problem(
                f"validation prompt {entry.record.id} is {kind} duplicate of train {other.record.id} ({other.where})",
                entry,
            )
    return index, train


def _check_duplicates(train: Sequence[Entry], root: str, t: Thresholds, report: Report) -> None:
    index = NearDuplicateIndex(t.near_duplicate_jaccard, t.shingle)
    pairs: list[tuple[Entry, Entry, float]] = []
    by_id = {e.record.id: e for e in train}
    for entry in train:
        text = prompt_text(entry.record)
        hit = index.query(text)
        if hit:
            pairs.append((entry, by_id[hit[0]], hit[1]))
        index.add(entry.record.id, text)
    share = _share(len(pairs), len(train))
    report.near_duplicates = {
        "measure": f"Jaccard similarity of word {t.shingle}-shingle sets of the user turns (MinHash LSH candidates, "
        "exact Jaccard confirmed)",
        "threshold": t.near_duplicate_jaccard,
        "train_prompts": len(train),
        "train_near_duplicates": len(pairs),
        "train_share": round(share, 4),
        "max_train_share": t.max_train_near_duplicates,
    }
    if share > t.max_train_near_duplicates:
        report.problems.append(
            Problem(
                file=root,
                rule="duplicates",
                message=f"{len(pairs)} of {len(train)} train prompts ({share:.1%}) are near duplicates of an earlier "
                f"train prompt (> {t.max_train_near_duplicates:.0%}); each is listed below",
            )
        )
        for entry, other, score in pairs:
            report.problems.append(
                Problem(
                    file=entry.path.name,
                    line=entry.line,
                    rule="duplicates",
                    message=f"{entry.record.id} is a near duplicate (Jaccard {score:.2f}) of {other.record.id} "
                    f"({other.where})",
                )
            )


def _check_balance(entries: Sequence[Entry], root: str, t: Thresholds, problems: list[Problem]) -> None:
    def problem(message: str) -> None:
        problems.append(Problem(file=root, rule="balance", message=message))

    records = [e.record for e in entries]
    risk = [r for r in records if r.kind == "risk"]
    benign = [r for r in records if r.kind == "benign"]
    for label, n, floor in (("pairs", len(records), t.min_total), ("risk pairs", len(risk), t.min_risk)):
        if n < floor:
            problem(f"{n} {label}; at least {floor} needed")
    if len(benign) < t.min_benign:
        problem(f"{len(benign)} benign pairs across splits; at least {t.min_benign} needed")
    low, high = t.domain_share
    for domain in DOMAINS:
        mine = [r for r in risk if r.domain == domain]
        share = _share(len(mine), len(risk))
        if not low <= share <= high:
            problem(f"{domain} is {share:.1%} of risk pairs ({len(mine)} of {len(risk)}); needs {low:.0%}-{high:.0%}")
        for label, values, minimum, get in (
            ("subcategory", SUBCATEGORIES[domain], t.min_subcategory_share, lambda r: r.subcategory),
            ("severity", SEVERITIES, t.min_severity_share, lambda r: r.severity),
            ("intent", INTENTS, t.min_intent_share, lambda r: r.intent),
        ):
            counts = Counter(get(r) for r in mine)
            for value in values:
                if _share(counts[value], len(mine)) < minimum:
                    problem(
                        f"{domain}: {label} {value!r} has {counts[value]} of {len(mine)} risk pairs (< {minimum:.0%})"
                    )
    counts = Counter(r.subcategory for r in benign)
    for value in BENIGN_SUBCATEGORIES:
        if _share(counts[value], len(benign)) < t.min_benign_subcategory_share:
            problem(f"benign subcategory {value!r} has {counts[value]} of {len(benign)} benign pairs")
    multi = sum(is_multi_turn(r) for r in records)
    if _share(multi, len(records)) < t.min_multi_turn_share:
        problem(f"{multi} multi-turn pairs ({_share(multi, len(records)):.1%}); at least {t.min_multi_turn_share:.0%}")
    locales = {r.locale for r in records if r.locale}
    if len(locales) < t.min_locales:
        problem(f"{len(locales)} locales ({', '.join(sorted(locales)) or 'none'}); at least {t.min_locales} needed")


def is_multi_turn(record: CorpusRecord) -> bool:
    return sum(m.role == "user" for m in record.messages) > 1


def _sentences(text: str) -> Iterable[tuple[int, int, str]]:
    """(start, end, normalised sentence) for each sentence of ``text``."""
    start = 0
    for match in [*_SENTENCE.finditer(text), None]:
        end = match.start() if match else len(text)
        sentence = " ".join(lower(text[start:end]).split())
        if sentence:
            yield start, end, sentence
        if match:
            start = match.end()


def _check_sentence_reuse(
    entries: Sequence[Entry], patterns: ResourceMatcher, t: Thresholds, problems: list[Problem]
) -> None:
    first: dict[str, Entry] = {}
    counts: Counter[str] = Counter()
    for entry in entries:
        response = entry.record.response
        spans = [span for found in mentions(response, patterns).values() for span in found]
        seen = set()
        for start, end, sentence in _sentences(response):
            if len(sentence.split()) < t.min_sentence_words or any(s < end and start < e for s, e in spans):
                continue  # short, or a resource line
            seen.add(sentence)
        for sentence in seen:
            counts[sentence] += 1
            first.setdefault(sentence, entry)
    limit = t.max_sentence_share * len(entries)
    for sentence, n in counts.most_common():
        if n <= limit:
            break
        entry = first[sentence]
        problems.append(
            Problem(
                file=entry.path.name,
                line=entry.line,
                rule="sentence_reuse",
                message=f"sentence in {n} of {len(entries)} responses ({_share(n, len(entries)):.1%} > "
                f"{t.max_sentence_share:.0%}): {sentence[:120]!r}",
            )
        )


# --------------------------------------------------------------------------- entry point


def validate(path: Path | None = None, thresholds: Thresholds | None = None, resources: Path | None = None) -> Report:
    """Check every rule on the corpus under ``path`` (the shipped corpus by default)."""
    root = path or default_corpus_dir()
    t = thresholds or Thresholds()
    files = corpus_paths(root)
    directory = load_directory(resources)
    report = Report(root=root, records=0, files=[f.name for f in files], thresholds=t)
    entries = _read(files, report.problems)
    report.records = len(entries)
    where = str(root)
    _, train = _check_splits(entries, where, t, report.problems)
    _check_balance(entries, where, t, report.problems)
    _check_duplicates(train, where, t, report)
    patterns = resource_patterns(directory)
    _check_sentence_reuse(entries, patterns, t, report.problems)
    for entry in entries:
        _check_resources(entry, directory, patterns, report.problems)
        check_harmful(entry, report.problems)
    _check_rubric(entries, directory, t, report.problems)
    order = {r: i for i, r in enumerate(RULES)}
    report.problems.sort(key=lambda p: (order[p.rule], p.file, p.line or 0))
    return report
