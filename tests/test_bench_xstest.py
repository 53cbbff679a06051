"""XSTest: loading and selecting the prompt CSV, the rates, the Inspect task and ``psychosafe bench xstest``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from psychosafe.bench.xstest import load_xstest, select_prompts, summarize
from psychosafe.errors import UserError

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

XSTEST = SHARED_DATA / "xstest" / "xstest_prompts.csv"


def test_loads_the_published_csv() -> None:
    prompts = load_xstest(XSTEST)
    assert len(prompts) == 450
    assert sum(p.label == "safe" for p in prompts) == 250
    unsafe = [p for p in prompts if p.label == "unsafe"]
    assert len(unsafe) == 200 and all(p.type.startswith("contrast_") for p in unsafe)


def test_limit_spreads_over_types_and_grows_stably() -> None:
    prompts = load_xstest(XSTEST)
    forty = select_prompts(prompts, 40, seed=0)
    assert len(forty) == 40 and len({p.id for p in forty}) == 40
    assert {p.type for p in forty} == {p.type for p in prompts}  # every one of the 18 types
    assert 15 <= sum(p.label == "unsafe" for p in forty) <= 25
    assert select_prompts(prompts, 60, seed=0)[:40] == forty
    assert select_prompts(prompts, 40, seed=1) != forty


def test_rates_per_group_and_type_count_unscored_apart() -> None:
    prompts = [p for p in load_xstest(XSTEST) if p.type in ("homonyms", "contrast_homonyms")][:4]
    prompts += [p for p in load_xstest(XSTEST) if p.type == "contrast_homonyms"][:4]
    safe = [p for p in prompts if p.label == "safe"]
    unsafe = [p for p in prompts if p.label == "unsafe"]
    assert len(safe) == 4 and len(unsafe) == 4
    safe_labels = ["1_full_compliance", "2_full_refusal", None, "1_full_compliance"]
    unsafe_labels = ["2_full_refusal", "3_partial_refusal", "2_full_refusal", "1_full_compliance"]
    labels = dict(zip([p.id for p in safe + unsafe], safe_labels + unsafe_labels, strict=True))
    result = summarize(safe + unsafe, [labels[p.id] for p in safe + unsafe])
    s, u = result["safe"], result["unsafe"]
    assert (s["n"], s["scored"], s["unscored"]) == (4, 3, 1)
    assert s["full_compliance"] == pytest.approx(2 / 3, abs=1e-4)
    assert s["refusal_rate"] == result["over_refusal"] == pytest.approx(1 / 3, abs=1e-4)
    assert u["full_refusal"] == 0.5 and u["partial_refusal"] == 0.25 and u["refusal_rate"] == 0.75
    assert set(u["types"]) == {"contrast_homonyms"} and u["types"]["contrast_homonyms"]["n"] == 4


def test_bad_data_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no such file"):
        load_xstest(tmp_path / "missing.csv")
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    with pytest.raises(UserError, match="XSTest columns"):
        load_xstest(bad)


def test_inspect_task_builds_samples_under_the_condition() -> None:
    from psychosafe.prompts import load_prompt
    from psychosafe.tasks.xstest import xstest

    task = xstest(data=str(XSTEST), condition="baseline", limit=6)
    samples = list(task.dataset)
    assert len(samples) == 6
    assert samples[0].input[0].role == "system" and samples[0].input[0].text == load_prompt("baseline").text
    assert {s.metadata["label"] for s in samples} == {"safe", "unsafe"}
    assert task.scorer is not None
    bare = xstest(data=str(XSTEST), condition="none", limit=2, classifier="none")
    assert [m.role for m in next(iter(bare.dataset)).input] == ["user"] and not bare.scorer


@pytest.mark.slow
def test_cli_runs_on_the_embedded_model_writes_json_and_resumes(cli, embedded_dir: Path, tmp_path: Path) -> None:
    args = ["bench", "xstest", "--data", str(XSTEST), "--limit", "6", "--max-tokens", "24", "--out", str(tmp_path)]
    result = cli(*args)
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "xstest.json").read_text())
    block = data["conditions"]["psychosafe"]
    assert block["safe"]["n"] == 3 and block["unsafe"]["n"] == 3
    for group in ("safe", "unsafe"):
        b = block[group]
        assert b["scored"] + b["unscored"] == b["n"]
        rates = b["full_compliance"] + b["full_refusal"] + b["partial_refusal"]
        assert rates == pytest.approx(1.0, abs=1e-3)
        assert b["refusal_rate"] == pytest.approx(b["full_refusal"] + b["partial_refusal"], abs=1e-3)
    assert data["meta"]["classifier"].startswith("offline")
    generations = (tmp_path / "xstest_generations.jsonl").read_text().splitlines()
    assert len(generations) == 6
    again = cli(*args)  # everything is on disk: nothing is generated twice
    assert again.exit_code == 0, again.output
    assert (tmp_path / "xstest_generations.jsonl").read_text().splitlines() == generations
