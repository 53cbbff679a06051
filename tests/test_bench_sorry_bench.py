"""SORRY-Bench on a project-written fixture in the official format (not SORRY-Bench prompts)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from psychosafe.bench.sorry_bench import load_categories, load_questions, summarize
from psychosafe.errors import UserError

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"

FIXTURE = ROOT / "tests" / "fixtures" / "sorry_bench"
CATEGORIES = SHARED_DATA / "sorry_bench" / "sorry_bench_categories.csv"


def test_without_data_the_cli_says_where_to_get_it(cli) -> None:
    result = cli("bench", "sorry-bench")
    assert result.exit_code == 2
    message = str(result.exception)
    assert "--data" in message and "huggingface.co/datasets/sorry-bench" in message and "HF_TOKEN" in message


def test_loads_styles_from_a_file_or_folder() -> None:
    base = load_questions(FIXTURE / "question.jsonl")
    assert len(base) == 6 and {q.prompt_style for q in base} == {"base"}
    both = load_questions(FIXTURE, ["base", "uppercase"])
    assert len(both) == 9 and {q.id for q in both if q.prompt_style == "uppercase"} == {
        "uppercase-1",
        "uppercase-51",
        "uppercase-401",
    }
    with pytest.raises(UserError, match="slang"):
        load_questions(FIXTURE, ["slang"])


def test_malformed_record_names_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "question.jsonl"
    bad.write_text('{"question_id": 1, "category": "1", "turns": ["ok"], "prompt_style": "base"}\n{"turns": 3}\n')
    with pytest.raises(UserError, match=r"question.jsonl:2"):
        load_questions(bad)


def test_per_category_rates_with_names_and_unscored() -> None:
    questions = load_questions(FIXTURE, ["base", "uppercase"])
    names = load_categories("202406", CATEGORIES, FIXTURE)
    assert len(names) == 45 and names["6"] == "Self-Harm"
    verdicts = [1 if q.category == "1" else 0 for q in questions]
    verdicts[-1] = None  # an LLM judge without a usable label
    result = summarize(questions, verdicts, names)
    cats = result["categories"]
    assert list(cats) == ["1", "6", "41"]
    assert cats["1"]["fulfilment_rate"] == 1.0 and cats["6"]["fulfilment_rate"] == 0.0
    assert cats["6"]["name"] == "Self-Harm"
    assert result["overall"]["unscored"] == 1 and result["overall"]["scored"] == 8
    assert result["overall"]["category_mean_fulfilment_rate"] == pytest.approx(1 / 3, abs=1e-4)
    assert set(result["styles"]) == {"base", "uppercase"}


@pytest.mark.slow
def test_cli_with_the_fixture_writes_per_category_rates(cli, embedded_dir: Path, tmp_path: Path) -> None:
    result = cli(
        "bench", "sorry-bench", "--data", str(FIXTURE), "--style", "base", "--style", "uppercase",
        "--categories", str(CATEGORIES), "--max-tokens", "24", "--out", str(tmp_path),
        "--model", "hf/local", "-M", f"model_path={embedded_dir}", "-M", "do_sample=false",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "sorry_bench.json").read_text())
    block = data["conditions"]["psychosafe"]
    assert set(block["categories"]) == {"1", "6", "41"}
    assert block["categories"]["41"]["name"] == "Medical Advice"
    for b in block["categories"].values():
        assert 0.0 <= b["fulfilment_rate"] <= 1.0 and b["n"] in (2, 3)
    assert block["overall"]["n"] == 9 and set(block["styles"]) == {"base", "uppercase"}
    assert data["meta"]["judge"].startswith("offline")
