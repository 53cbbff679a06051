"""Fine-tuning configs: every shipped config loads and resolves here; bad input ends in one clear message, exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from psychosafe.errors import UserError
from psychosafe.finetune.config import FinetuneConfig, load_finetune_config, parse_overrides
from psychosafe.taxonomy import DOMAIN_ABBREVIATIONS

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = sorted((ROOT / "configs" / "finetune").glob("*.yaml"))


def test_shipped_configs_are_the_expected_ones() -> None:
    assert [p.name for p in CONFIGS] == [
        "embedded-cpu.yaml",
        "qwen3.5-27b-lora-bf16.yaml",
        "qwen3.5-27b-qlora.yaml",
    ]


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_every_shipped_config_loads_and_resolves(path: Path) -> None:
    from psychosafe.finetune.data import build_examples
    from psychosafe.finetune.train import resolve_base_model, sft_config

    cfg = load_finetune_config(path)
    assert cfg.data.benign_ratio > 0  # every shipped config trains selectively
    data = build_examples(cfg.data, cfg.seed)
    assert data.counts["train"]["risk"] > 0 and data.counts["train"]["benign"] > 0
    if cfg.base_model != "embedded":
        assert resolve_base_model(cfg.base_model) == cfg.base_model  # a Hub id, not looked up here
    # the trainer arguments build here too (where bf16 exists on this machine)
    args = sft_config(cfg, Path("/nonexistent-run-dir"), "float32", bool(data.eval))
    assert args.gradient_accumulation_steps == cfg.train.grad_accum
    assert args.completion_only_loss is True


def test_embedded_cpu_yaml_spells_out_the_defaults() -> None:
    shipped = load_finetune_config(ROOT / "configs" / "finetune" / "embedded-cpu.yaml")
    assert shipped.merge is True
    assert shipped.model_dump(exclude={"merge"}) == FinetuneConfig().model_dump(exclude={"merge"})


def test_qlora_config_quantises_and_bf16_config_does_not() -> None:
    qlora = load_finetune_config(ROOT / "configs" / "finetune" / "qwen3.5-27b-qlora.yaml")
    bf16 = load_finetune_config(ROOT / "configs" / "finetune" / "qwen3.5-27b-lora-bf16.yaml")
    assert qlora.quantization.load_in_4bit and not bf16.quantization.load_in_4bit
    assert bf16.train.dtype == "bfloat16" and bf16.train.gradient_checkpointing


def test_accelerate_configs() -> None:
    zero3 = yaml.safe_load((ROOT / "configs" / "accelerate" / "deepspeed-zero3.yaml").read_text())
    fsdp2 = yaml.safe_load((ROOT / "configs" / "accelerate" / "fsdp2.yaml").read_text())
    assert zero3["distributed_type"] == "DEEPSPEED" and zero3["deepspeed_config"]["zero_stage"] == 3
    assert fsdp2["distributed_type"] == "FSDP" and fsdp2["fsdp_config"]["fsdp_version"] == 2
    docs = (ROOT / "docs" / "finetuning.md").read_text()
    for name in ("deepspeed-zero3.yaml", "fsdp2.yaml"):
        assert f"accelerate launch --config_file configs/accelerate/{name}" in docs


def test_overrides_nest_and_parse_scalars() -> None:
    assert parse_overrides(["train.max_steps=5", "lora.target_modules=[q_proj, v_proj]", "merge=true"]) == {
        "train": {"max_steps": 5},
        "lora": {"target_modules": ["q_proj", "v_proj"]},
        "merge": True,
    }
    with pytest.raises(UserError, match="key=value"):
        parse_overrides(["train.max_steps"])
    with pytest.raises(UserError, match=r"'train\.max_stepz'.*unknown setting"):
        load_finetune_config(None, ["train.max_stepz=3"])
    with pytest.raises(UserError, match=r"'lora\.r'"):
        load_finetune_config(None, ["lora.r=0"])


def test_run_profiles_and_the_finetuned_condition() -> None:
    from psychosafe.prompts import load_prompt
    from psychosafe.run.config import load_config

    assert load_config("quick").conditions == ["baseline", "psychosafe", "finetuned"]
    assert load_config("smoke").conditions == ["baseline", "psychosafe"]
    assert load_prompt("finetuned").text == load_prompt("baseline").text
    with pytest.raises(UserError, match=r"finetune\.lora\.r"):
        load_config("quick", None, {"finetune": {"lora": {"r": 0}}})


def test_broken_corpus_record_names_file_and_line(cli, tmp_path: Path) -> None:
    good = json.loads((ROOT / "src/psychosafe/data/corpus/suicide_self_harm.jsonl").read_text().splitlines()[0])
    corpus = tmp_path / "corpus.jsonl"
    broken = {**good, "id": "x-1", "split": "train", "severity": "extreme"}
    corpus.write_text(json.dumps({**good, "split": "train"}) + "\n" + json.dumps(broken) + "\n")
    config = tmp_path / "ft.yaml"
    config.write_text(yaml.safe_dump({"data": {"corpus": [str(corpus)]}}))
    result = cli("finetune", "--config", str(config), "--dry-run")
    assert result.exit_code == 2
    assert f"{corpus}:2: field 'severity'" in str(result.exception)


def test_missing_base_model_is_a_user_error(cli, tmp_path: Path) -> None:
    result = cli("finetune", "--out", str(tmp_path / "run"), f"base_model={tmp_path / 'no-such-model'}")
    assert result.exit_code == 2
    assert "no model directory there" in str(result.exception)
    assert not (tmp_path / "run").exists()  # nothing written


@pytest.mark.slow
def test_unknown_target_module_is_a_user_error(cli, embedded_dir: Path, tmp_path: Path) -> None:
    result = cli("finetune", "--out", str(tmp_path / "run"), "lora.target_modules=[q_proj, qkv_projection]")
    assert result.exit_code == 2
    message = str(result.exception)
    assert "qkv_projection not found in the model" in message and "q_proj" in message


def test_max_risk_caps_the_mix_and_keeps_domains_balanced() -> None:
    from psychosafe.finetune.config import DataSettings
    from psychosafe.finetune.data import build_examples

    data = build_examples(DataSettings(max_risk=20, benign_ratio=0.5, eval_fraction=0.1), seed=0)
    assert data.counts["train"]["risk"] + data.counts["eval"]["risk"] == 20
    assert data.counts["train"]["benign"] + data.counts["eval"]["benign"] <= 10 + 1  # only the benign pairs it needs
    domains = [e["id"].split("-")[0] for e in data.train + data.eval if e["kind"] == "risk"]
    assert {d: domains.count(d) for d in set(domains)} == dict.fromkeys(DOMAIN_ABBREVIATIONS.values(), 4)
    everything = build_examples(DataSettings(max_risk=None, benign_ratio=0.5), seed=0)
    assert everything.counts["train"]["risk"] > 1000  # the GPU configs train on the whole train split
