"""Downstream ability through lm-evaluation-harness on local copies of MMLU / GSM8K / IFEval."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from psychosafe.bench.downstream import compare_with, lm_eval_model, materialize_tasks, run_downstream
from psychosafe.errors import UserError

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def test_task_yamls_point_at_the_data_dir(tmp_path: Path) -> None:
    dest = materialize_tasks(SHARED_DATA, tmp_path / "tasks")
    names = sorted(p.name for p in dest.iterdir())
    assert names == [
        "psychosafe_gsm8k.yaml",
        "psychosafe_ifeval.yaml",
        "psychosafe_mmlu.yaml",
        "psychosafe_mmlu_cloze.yaml",
        "utils.py",
    ]
    text = (dest / "psychosafe_gsm8k.yaml").read_text()
    assert "@DATA_DIR@" not in text and f"{SHARED_DATA.resolve()}/gsm8k/test.jsonl" in text
    for name in names[:-1]:  # every file lm-eval reads exists
        spec = yaml.load((dest / name).read_text(), Loader=yaml.BaseLoader)  # !function tags stay text
        pattern = spec["dataset_kwargs"]["data_files"]["test"]
        assert list(Path("/").glob(pattern.lstrip("/"))), pattern


def test_model_mapping_for_adapters_and_providers(tmp_path: Path) -> None:
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text("{}")
    kind, args = lm_eval_model("hf/local", {"model_path": "/models/base"}, adapter, 4)
    assert kind == "hf" and args["pretrained"] == "/models/base" and args["peft"] == str(adapter.resolve())
    merged = tmp_path / "merged"
    merged.mkdir()
    (merged / "config.json").write_text("{}")
    _, args = lm_eval_model("hf/org/model", None, merged, 4)
    assert args["pretrained"] == str(merged.resolve()) and "peft" not in args
    kind, args = lm_eval_model("vllm/org/model", {"tensor_parallel_size": 2}, None, 4)
    assert kind == "vllm" and args == {"pretrained": "org/model", "tensor_parallel_size": 2}
    with pytest.raises(UserError, match="log-likelihoods"):
        lm_eval_model("openai/gpt-4o", None, None, 4)
    with pytest.raises(UserError, match=r"adapter_config\.json"):
        lm_eval_model("hf/local", {"model_path": "/m"}, tmp_path, 4)


def test_unknown_local_task_and_missing_files_are_user_errors(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="local tasks are"):
        run_downstream(tmp_path / "a", "hellaswag", data_dir=SHARED_DATA)
    with pytest.raises(UserError, match="mmlu/test not found"):
        run_downstream(tmp_path / "b", "mmlu", data_dir=tmp_path)


def test_compare_gives_deltas_for_shared_tasks() -> None:
    base = {"tasks": {"mmlu": {"metric": "acc,none", "value": 0.25, "stderr": 0.04}}}
    this = {
        "tasks": {
            "mmlu": {"metric": "acc,none", "value": 0.3, "stderr": 0.05},
            "gsm8k": {"metric": "exact_match,flexible-extract", "value": 0.1, "stderr": 0.01},
        }
    }
    table = compare_with(this, base)
    assert list(table) == ["mmlu"] and table["mmlu"]["delta"] == pytest.approx(0.05)


@pytest.mark.slow
def test_cli_mmlu_on_the_embedded_model_dir(cli, embedded_dir: Path, tmp_path: Path) -> None:
    result = cli(
        "bench", "downstream", "--tasks", "mmlu", "--limit", "6", "--data-dir", str(SHARED_DATA),
        "--model", "hf/local", "-M", f"model_path={embedded_dir}", "--out", str(tmp_path),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "downstream.json").read_text())
    mmlu = data["tasks"]["mmlu"]
    assert mmlu["metric"] == "acc,none" and mmlu["n"] == 6
    assert 0.0 <= mmlu["value"] <= 1.0 and mmlu["stderr"] is not None
    assert data["meta"]["lm_eval_model"] == "hf" and data["meta"]["limit"] == 6


def test_punkt_model_is_built_offline_and_splits_sentences(tmp_path: Path) -> None:
    from nltk.tokenize.punkt import PunktTokenizer

    from psychosafe.bench.punkt import build_punkt

    target = build_punkt(tmp_path / "nltk_data")
    assert {p.name for p in target.iterdir()} == {
        "abbrev_types.txt",
        "collocations.tab",
        "ortho_context.tab",
        "sent_starters.txt",
    }
    tokenizer = PunktTokenizer("english")  # found through nltk's data path, as IFEval's checkers find it
    text = "Dr. Lee called at 9 a.m. today. She was worried! Can you help? Yes, e.g. with a plan."
    assert tokenizer.tokenize(text) == [
        "Dr. Lee called at 9 a.m. today.",
        "She was worried!",
        "Can you help?",
        "Yes, e.g. with a plan.",
    ]
