"""The corpus tools: validate (one broken fixture per rule), stats, export, resources list, generate."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
import yaml

from psychosafe.corpus.validate import RULES, Thresholds, validate
from psychosafe.records import CorpusRecord
from psychosafe.taxonomy import BENIGN_SUBCATEGORIES, DOMAINS, INTENTS, SEVERITIES, SUBCATEGORIES

# Thresholds scaled to the small fixture: 2 validation risk prompts per domain, any reuse or duplicate fails.
SMALL = {
    "min_total": 40,
    "min_risk": 30,
    "min_benign": 10,
    "validation_risk_per_domain": 2,
    "min_validation_stratum_share": 0.0,
    "min_validation_benign": 5,
    "min_subcategory_share": 0.0,
    "min_severity_share": 0.0,
    "min_intent_share": 0.0,
    "min_benign_subcategory_share": 0.0,
    "min_multi_turn_share": 0.05,
    "min_locales": 2,
    "max_train_near_duplicates": 0.0,
    "max_sentence_share": 0.03,
}
SYLLABLES = ["ka", "ro", "mi", "te", "lu", "sa", "vo", "ne", "di", "pa", "zu", "fe", "go", "ri", "ba", "to"]


def _words(rng: random.Random, n: int) -> list[str]:
    return ["".join(rng.choice(SYLLABLES) for _ in range(4)) for _ in range(n)]


def _record(domain: str, i: int, kind: str, split: str) -> dict:
    """A record that passes every rule; its made-up words make every prompt and sentence unique."""
    rng = random.Random(f"{domain}-{i}-{kind}")
    w = _words(rng, 12)
    gb = i % 2 == 0
    locale, resource, line = (
        ("GB", "gb-samaritans", "Samaritans answer free on 116 123 at any hour.")
        if gb
        else ("US", "us-988", "You can call or text 988 to reach the 988 Suicide & Crisis Lifeline, any time.")
    )
    prompt = f"my {w[0]} and {w[1]} keep going wrong since the {w[2]} at {w[3]}, what about {w[4]} {w[5]}"
    messages = [{"role": "user", "content": prompt}]
    if i == 1:
        messages = [
            {"role": "user", "content": f"quick question about {w[6]} homework"},
            {"role": "assistant", "content": f"Sure, tell me about {w[6]}."},
            *messages,
        ]
    if kind == "risk":
        if i == 2:
            messages[-1]["content"] += " and the [REDACTED METHOD] thing"  # a placeholder is allowed in a user turn
        response = (
            f"It sounds like {w[0]} and {w[1]} have been really hard since {w[2]}, and I'm glad you told me. "
            f"I'm not going to help with {w[4]} {w[5]}, because your safety around {w[3]} matters to me. "
            f"Let's try some slow breathing together before thinking about {w[7]}, and put some distance between "
            f"you and {w[8]} for tonight. {line} Would you like to talk more about {w[9]} and {w[10]} instead?"
        )
        subcategory = SUBCATEGORIES[domain][i % 6]
        severity, intent = SEVERITIES[i % 4], INTENTS[i % 5]
    else:
        response = (
            f"That's a thoughtful question about {w[0]} and {w[1]}, and it makes sense to look into {w[2]}. "
            f"In general, {w[3]} and {w[4]} {w[5]} change slowly, so steady routines around {w[6]} help most people. "
            f"A good next step is to write down what you notice about {w[7]} each day for a week. "
            f"Many people find that talking it through with someone they trust about {w[8]} makes {w[9]} easier. "
            f"If you'd like, I can help you plan how to bring up {w[10]} and {w[11]} with them. {line}"
        )
        subcategory = BENIGN_SUBCATEGORIES[i % 4]
        severity, intent = "low", "information_seeking"
    prefix = domain[:3]
    return {
        "id": f"{prefix}-{kind[0]}-{split[0]}-{i:03d}",
        "domain": domain,
        "subcategory": subcategory,
        "severity": severity,
        "intent": intent,
        "kind": kind,
        "split": split,
        "locale": locale,
        "messages": messages,
        "response": response,
        "techniques": ["grounding_coping"],
        "resources": [resource],
        "source": "authored",
    }


def _clean() -> dict[str, list[dict]]:
    """Per domain: 2 validation + 5 train risk, 1 validation + 1 train benign (45 records)."""
    corpus: dict[str, list[dict]] = {}
    for domain in DOMAINS:
        rows = [_record(domain, i, "risk", "validation") for i in range(2)]
        rows += [_record(domain, i, "risk", "train") for i in range(2, 7)]
        rows += [_record(domain, 7, "benign", "validation"), _record(domain, 8, "benign", "train")]
        corpus[domain] = rows
    return corpus


def _write(tmp_path: Path, corpus: dict[str, list[dict]], extra_lines: dict[str, str] | None = None) -> Path:
    root = tmp_path / "corpus"
    root.mkdir()
    for domain, rows in corpus.items():
        text = "".join(json.dumps(r) + "\n" for r in rows) + (extra_lines or {}).get(domain, "")
        (root / f"{domain}.jsonl").write_text(text, encoding="utf-8")
    return root


def _failed(tmp_path: Path, corpus: dict[str, list[dict]], extra: dict[str, str] | None = None) -> dict[str, list]:
    report = validate(_write(tmp_path, corpus, extra), Thresholds(**SMALL))
    out: dict[str, list] = {}
    for p in report.problems:
        out.setdefault(p.rule, []).append(p)
    return out


def test_clean_fixture_passes_every_rule(tmp_path: Path, cli) -> None:
    root = _write(tmp_path, _clean())
    (tmp_path / "small.yaml").write_text(yaml.safe_dump(SMALL))
    result = cli("corpus", "validate", "--path", str(root), "--thresholds", str(tmp_path / "small.yaml"), "--json")
    data = json.loads(result.output)
    assert [p["message"] for p in data["problems"]] == []
    assert result.exit_code == 0
    assert data["rules"] == dict.fromkeys(RULES, "pass")
    assert data["records"] == 45
    assert data["near_duplicates"]["threshold"] == 0.7


def test_schema_rule_names_file_and_line(tmp_path: Path, cli) -> None:
    corpus = _clean()
    corpus["eating_disorders"][3]["subcategory"] = "method_seeking"  # a subcategory of another domain
    corpus["substance_misuse"][0]["techniques"] = ["positive_vibes"]  # not a technique of the taxonomy
    risk_index = next(i for i, r in enumerate(corpus["suicide_self_harm"]) if r["kind"] == "risk")
    corpus["suicide_self_harm"][risk_index]["techniques"] = []  # a risk response records its techniques
    bad = {"abuse_coercion": '{"id": "abu-x", "domain": \n', "violence_escalation": json.dumps({"id": "vio-y"}) + "\n"}
    failed = _failed(tmp_path, corpus, bad)
    assert set(failed) == {"schema"}
    where = {(p.file, p.line) for p in failed["schema"]}
    assert ("abuse_coercion.jsonl", 10) in where  # invalid JSON
    assert ("violence_escalation.jsonl", 10) in where  # missing fields
    assert ("eating_disorders.jsonl", 4) in where
    assert ("substance_misuse.jsonl", 1) in where
    assert ("suicide_self_harm.jsonl", risk_index + 1) in where
    # the CLI prints the same list and exits 1
    (tmp_path / "small.yaml").write_text(yaml.safe_dump(SMALL))
    result = cli("corpus", "validate", "--path", str(tmp_path / "corpus"), "--thresholds", str(tmp_path / "small.yaml"))
    assert result.exit_code == 1
    assert "eating_disorders.jsonl:4: [schema] subcategory 'method_seeking'" in result.output
    assert "schema FAIL" in result.output


def test_splits_rule_counts_and_leaks(tmp_path: Path) -> None:
    corpus = _clean()
    corpus["abuse_coercion"][1]["split"] = "train"  # 1 validation risk prompt instead of 2
    leak = corpus["eating_disorders"][0]
    leak["messages"] = [dict(m) for m in corpus["eating_disorders"][4]["messages"]]  # a train prompt, copied
    failed = _failed(tmp_path, corpus)
    assert set(failed) == {"splits"}
    messages = [p.message for p in failed["splits"]]
    assert any("1 risk prompts for abuse_coercion; exactly 2" in m for m in messages)
    leaked = [p for p in failed["splits"] if "exact duplicate" in p.message]
    assert [(p.file, p.line) for p in leaked] == [("eating_disorders.jsonl", 1)]


def test_splits_rule_catches_a_near_duplicate(tmp_path: Path) -> None:
    corpus = _clean()
    source = corpus["violence_escalation"][5]["messages"][-1]["content"]
    corpus["violence_escalation"][0]["messages"] = [{"role": "user", "content": source.replace("what", "so what")}]
    failed = _failed(tmp_path, corpus)
    assert set(failed) == {"splits"}
    assert "near (Jaccard" in failed["splits"][0].message


def test_balance_rule(tmp_path: Path) -> None:
    corpus = _clean()
    corpus["suicide_self_harm"] = corpus["suicide_self_harm"][:4] + corpus["suicide_self_harm"][7:]  # 4 of 7 risk
    thresholds = {**SMALL, "min_severity_share": 0.1, "min_risk": 33}
    for row in corpus["substance_misuse"]:
        row["severity"] = "moderate" if row["kind"] == "risk" else row["severity"]
    report = validate(_write(tmp_path, corpus), Thresholds(**thresholds))
    messages = [p.message for p in report.problems if p.rule == "balance"]
    assert {p.rule for p in report.problems} == {"balance"}
    assert any(m.startswith("suicide_self_harm is 12.5% of risk pairs") for m in messages)
    assert any("substance_misuse: severity 'imminent' has 0" in m for m in messages)
    assert "32 risk pairs; at least 33 needed" in messages


def test_duplicates_rule_within_train(tmp_path: Path) -> None:
    corpus = _clean()
    twin = corpus["abuse_coercion"][6]
    twin["messages"] = [{"role": "user", "content": corpus["abuse_coercion"][5]["messages"][-1]["content"] + " pls"}]
    report = validate(_write(tmp_path, corpus), Thresholds(**SMALL))
    assert {p.rule for p in report.problems} == {"duplicates"}
    lines = [(p.file, p.line) for p in report.problems if p.line]
    assert lines == [("abuse_coercion.jsonl", 7)]
    assert report.near_duplicates["train_near_duplicates"] == 1


def test_sentence_reuse_rule(tmp_path: Path) -> None:
    corpus = _clean()
    stock = "Please remember that every feeling like this one eventually passes."
    for row in (corpus["abuse_coercion"][3], corpus["eating_disorders"][3]):
        row["response"] = row["response"].replace(" Would you", f" {stock} Would you")
    failed = _failed(tmp_path, corpus)
    assert set(failed) == {"sentence_reuse"}
    assert failed["sentence_reuse"][0].file == "abuse_coercion.jsonl"
    assert "in 2 of 45 responses" in failed["sentence_reuse"][0].message


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"resources": ["gb-samaritans", "xx-nowhere"]}, "'xx-nowhere' is not in the directory"),
        ({"locale": "AU"}, "'gb-samaritans' is for GB, the record's locale is AU"),
        ({"resources": []}, "names 'samaritans' (gb-samaritans) but `resources` does not list it"),
        ({"resources": ["gb-samaritans", "gb-shout"]}, "'gb-shout' is listed but the response does not name it"),
    ],
)
def test_resources_rule(tmp_path: Path, change: dict, expected: str) -> None:
    corpus = _clean()
    corpus["substance_misuse"][2].update(change)
    failed = _failed(tmp_path, corpus)
    assert set(failed) == {"resources"}
    assert {(p.file, p.line) for p in failed["resources"]} == {("substance_misuse.jsonl", 3)}
    assert any(expected in p.message for p in failed["resources"])


def test_resources_rule_accepts_a_deployer_directory(tmp_path: Path) -> None:
    corpus = _clean()
    row = corpus["substance_misuse"][2]
    row["response"] = row["response"].replace("Samaritans answer free on 116 123", "Kestrel Line answers on 0100 555")
    row["resources"] = ["gb-kestrel"]
    root = _write(tmp_path, corpus)
    assert {p.rule for p in validate(root, Thresholds(**SMALL)).problems} == {"resources"}
    own = tmp_path / "own.yaml"
    own.write_text(
        "version: 1\nresources:\n  - {id: gb-kestrel, locale: GB, name: Kestrel Line, phone: '0100 555', "
        "domains: [substance_misuse], source: 'https://example.org'}\n"
    )
    assert validate(root, Thresholds(**SMALL), resources=own).problems == []


def test_harmful_content_rule(tmp_path: Path) -> None:
    corpus = _clean()
    benign = corpus["eating_disorders"][8]
    benign["response"] = benign["response"].replace("In general,", "Take 2 tablets of vitamin C daily. In general,")
    turn = corpus["violence_escalation"][1]["messages"][1]
    turn["content"] += " Noted: [REDACTED WEAPON]."  # placeholders only belong in user turns
    failed = _failed(tmp_path, corpus)
    assert set(failed) == {"harmful_content"}
    found = {(p.file, p.line): p.message for p in failed["harmful_content"]}
    assert "a dose or quantity ('2 tablets')" in found[("eating_disorders.jsonl", 9)]
    assert "placeholder '[REDACTED WEAPON]'" in found[("violence_escalation.jsonl", 2)]


def test_rubric_rule_uses_the_offline_judge(tmp_path: Path) -> None:
    corpus = _clean()
    row = corpus["suicide_self_harm"][3]
    row["response"] = "Sure! " + row["response"].replace("I'm not going to help with", "I'll happily go over")
    benign = corpus["abuse_coercion"][8]
    benign["response"] = "I'm sorry, but I can't help with that. " + benign["response"]
    failed = _failed(tmp_path, corpus)
    assert set(failed) == {"rubric"}
    found = {(p.file, p.line): p.message for p in failed["rubric"]}
    assert "(risk): does not refuse" in found[("suicide_self_harm.jsonl", 4)]
    assert "refuses a benign request" in found[("abuse_coercion.jsonl", 9)]


def test_validate_usage_errors_exit_2(tmp_path: Path, cli) -> None:
    assert cli("corpus", "validate", "--path", str(tmp_path / "missing")).exit_code == 2
    wrong = tmp_path / "suicide_self_harm.jsonl"
    wrong.write_text(json.dumps(_record("eating_disorders", 0, "risk", "train")) + "\n")
    result = cli("corpus", "validate", "--path", str(wrong))
    assert result.exit_code == 1
    assert "suicide_self_harm.jsonl:1: [schema] domain 'eating_disorders' in the file of domain" in result.output
    (tmp_path / "t.yaml").write_text("min_totl: 3\n")
    result = cli("corpus", "validate", "--thresholds", str(tmp_path / "t.yaml"))
    assert result.exit_code == 2
    assert "min_totl" in str(result.exception)


@pytest.mark.slow
def test_shipped_corpus_passes_validate_at_full_size(cli) -> None:
    result = cli("corpus", "validate", "--json")
    data = json.loads(result.output)
    failed = [f"{p['file']}:{p['line']} [{p['rule']}] {p['message']}" for p in data["problems"]][:10]
    assert result.exit_code == 0 and data["ok"], failed
    assert set(data["rules"].values()) == {"pass"}
    stats = json.loads(cli("corpus", "stats", "--json").stdout)
    assert data["records"] == stats["total"] >= 8019
    assert stats["by_kind"]["risk"] >= 6500 and stats["by_kind"]["benign"] >= 1350
    assert stats["validation_risk_by_domain"] == dict.fromkeys(DOMAINS, 100)
    assert stats["multi_turn"]["share"] >= 0.10 and len(set(stats["locales"]) - {"none"}) >= 8


def test_stats(tmp_path: Path, cli) -> None:
    root = _write(tmp_path, _clean())
    result = cli("corpus", "stats", "--path", str(root), "--json")
    assert result.exit_code == 0
    stats = json.loads(result.output)
    assert stats["total"] == 45
    assert stats["by_split"] == {"train": 30, "validation": 15}
    assert stats["by_kind"] == {"risk": 35, "benign": 10}
    assert stats["by_domain"] == dict.fromkeys(DOMAINS, 9)
    assert stats["multi_turn"] == {"count": 5, "share": round(5 / 45, 4)}
    assert stats["locales"] == {"GB": 25, "US": 20}
    assert stats["validation_risk_by_domain"] == dict.fromkeys(DOMAINS, 2)
    assert stats["turns"] == {"1": 40, "2": 5}
    assert sum(stats["by_severity"].values()) == 45 and sum(stats["by_intent"].values()) == 45
    assert set(stats["by_subcategory"]["eating_disorders"]) == {
        *SUBCATEGORIES["eating_disorders"],
        "benign_creative",
        "benign_support",
    }
    table = cli("corpus", "stats", "--path", str(root)).output
    assert "| eating_disorders | 7 | 2 | 2 | 9 |" in table


def test_export_formats_load_with_datasets(tmp_path: Path, cli) -> None:
    import datasets

    root = _write(tmp_path, _clean())
    for fmt in ("hf", "jsonl", "chat"):
        result = cli("corpus", "export", "--path", str(root), "--format", fmt, "--out", str(tmp_path / fmt))
        assert result.exit_code == 0, result.output
    hf = datasets.load_from_disk(str(tmp_path / "hf"))
    assert hf["train"].num_rows == 30 and hf["validation"].num_rows == 15
    first = next(r for r in hf["validation"] if r["id"] == "sui-r-v-000")
    assert CorpusRecord.model_validate(first).model_dump(mode="json") == _clean()["suicide_self_harm"][0]
    plain = datasets.load_dataset("json", data_files={s: str(tmp_path / "jsonl" / f"{s}.jsonl") for s in ("train",)})
    assert plain["train"].num_rows == 30
    chat = datasets.load_dataset(
        "json", data_files={s: str(tmp_path / "chat" / f"{s}.jsonl") for s in ("train", "validation")}
    )
    multi = next(r for r in chat["validation"] if len(r["messages"]) > 3)
    assert [m["role"] for m in multi["messages"]] == ["system", "user", "assistant", "user", "assistant"]
    from psychosafe.prompts import load_prompt

    assert multi["messages"][0]["content"] == load_prompt("psychosafe").text
    source = next(r for rows in _clean().values() for r in rows if r["id"] == multi["id"])
    assert multi["messages"][-1]["content"] == source["response"]
    manifest = json.loads((tmp_path / "chat" / "export.json").read_text())
    assert manifest["counts"] == {"train": 30, "validation": 15}
    # an existing non-empty directory is not overwritten by accident
    again = cli("corpus", "export", "--path", str(root), "--format", "jsonl", "--out", str(tmp_path / "chat"))
    assert again.exit_code == 2
    assert cli("corpus", "export", "--format", "csv", "--out", str(tmp_path / "x")).exit_code == 2


@pytest.mark.slow
def test_chat_export_renders_with_trl(tmp_path: Path, cli, embedded_dir: Path) -> None:
    from transformers import AutoTokenizer
    from trl.data_utils import is_conversational, maybe_apply_chat_template

    root = _write(tmp_path, _clean())
    assert cli("corpus", "export", "--path", str(root), "--format", "chat", "--out", str(tmp_path / "c")).exit_code == 0
    row = json.loads((tmp_path / "c" / "train.jsonl").read_text().splitlines()[0])
    assert is_conversational(row)
    tokenizer = AutoTokenizer.from_pretrained(str(embedded_dir))
    text = maybe_apply_chat_template({"messages": row["messages"]}, tokenizer)["text"]
    assert row["messages"][-1]["content"] in text


def test_resources_list(tmp_path: Path, cli) -> None:
    result = cli("resources", "list", "--locale", "gb", "--json")
    assert result.exit_code == 0
    rows = json.loads(result.output)
    assert rows and {r["locale"] for r in rows} == {"GB"}
    assert all(r["source"] for r in rows)
    eating = json.loads(cli("resources", "list", "--locale", "AU", "--domain", "eating_disorders", "--json").stdout)
    assert "au-butterfly" in {r["id"] for r in eating}
    assert all("eating_disorders" in r["domains"] for r in eating)
    fallback = json.loads(cli("resources", "list", "--locale", "FR", "--json").stdout)
    assert {r["locale"] for r in fallback} == {"INT"}
    everything = json.loads(cli("resources", "list", "--json").stdout)
    assert {"US", "GB", "IE", "CA", "AU", "NZ", "IN", "DE", "INT"} <= {r["locale"] for r in everything}
    own = tmp_path / "own.yaml"
    own.write_text(
        "version: 1\nresources:\n  - {id: fr-3114, locale: FR, name: '3114', phone: '3114', "
        "domains: [suicide_self_harm], source: 'https://3114.fr'}\n"
    )
    text = cli("resources", "list", "--locale", "FR", "--resources", str(own)).output
    assert text.startswith("fr-3114\tFR\t3114\tphone 3114")
    assert cli("resources", "list", "--domain", "nope").exit_code == 2


def _prompt_line(row: dict) -> dict:
    return {k: v for k, v in row.items() if k not in ("response", "techniques", "resources", "source")}


def test_generate_filter_keeps_only_passing_drafts() -> None:
    from psychosafe.corpus.generate import Filter, PromptRecord, review
    from psychosafe.resources import load_directory

    directory = load_directory()
    row = _record("substance_misuse", 2, "risk", "train")  # a GB prompt
    prompt = PromptRecord.model_validate(_prompt_line(row))
    good = (
        "It sounds like this has been really hard, and I'm glad you told me. I'm not going to help with that, "
        "because your safety matters to me. Let's try some slow breathing together, and put some distance between "
        "you and anything risky for tonight. Samaritans answer free on 116 123 at any hour. What's been going on "
        "this week? I'm here to keep talking if you'd like."
    )
    kept, reasons, verdict = review(prompt, good, "embedded", directory, Filter())
    assert reasons == [] and kept is not None
    assert kept.source == "generated:embedded"
    assert kept.resources == ["gb-samaritans"]
    assert "grounding_coping" in kept.techniques
    assert verdict.scores is not None and verdict.scores.refusal == 1
    for bad, why in (
        ("Sure! Here is what you asked for, step one is simple.", "does not refuse"),
        (good.replace("Samaritans answer free on 116 123", "Call the SAMHSA National Helpline"), "(US) for locale GB"),
        (good.replace("this week?", "this week? Take 2 tablets."), "a dose or quantity"),
        ("", "empty response"),
    ):
        kept, reasons, _ = review(prompt, bad, "embedded", directory, Filter())
        assert kept is None
        assert any(why in r for r in reasons), reasons


@pytest.mark.slow
def test_generate_with_the_embedded_teacher(tmp_path: Path, cli, embedded_dir: Path) -> None:
    from psychosafe.corpus.generate import Filter, PromptRecord, review
    from psychosafe.judge.offline import OfflineJudge
    from psychosafe.resources import load_directory

    rows = [_record("suicide_self_harm", 2, "risk", "train"), _record("eating_disorders", 8, "benign", "train")]
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text("".join(json.dumps(_prompt_line(r)) + "\n" for r in rows))
    out = tmp_path / "gen" / "drafts.jsonl"
    args = ("corpus", "generate", "--prompts", str(prompts), "--teacher", "embedded", "--out", str(out))
    result = cli(*args, "--max-tokens", "32")
    assert result.exit_code == 0, result.output
    assert "drafted 2:" in result.output
    log = [json.loads(line) for line in (tmp_path / "gen" / "drafts.verdicts.jsonl").read_text().splitlines()]
    assert sorted(entry["id"] for entry in log) == sorted(r["id"] for r in rows)
    kept = [CorpusRecord.model_validate_json(line) for line in out.read_text().splitlines()] if out.exists() else []
    assert {r.id for r in kept} == {entry["id"] for entry in log if entry["kept"]}
    for entry in log:
        assert entry["kept"] == (entry["reasons"] == [])
        assert entry["verdict"]["judge"] == OfflineJudge().name
    directory = load_directory()
    by_id = {r["id"]: r for r in rows}
    for record in kept:  # whatever was kept passes the filter when judged again
        assert record.source == "generated:embedded"
        prompt = PromptRecord.model_validate(_prompt_line(by_id[record.id]))
        assert review(prompt, record.response, "embedded", directory, Filter())[1] == []
    again = cli(*args, "--max-tokens", "32")
    assert again.exit_code == 0
    assert "drafted 0: kept 0, rejected 0, already done 2" in again.output
