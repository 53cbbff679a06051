"""Qwen 3.5 mixes gated linear-attention (Gated DeltaNet) and full-attention layers: the shipped Qwen configs'
LoRA targets must adapt projections in both kinds. A tiny randomly initialised model, no download."""

from __future__ import annotations

from pathlib import Path

import pytest

from psychosafe.finetune.config import load_finetune_config

ROOT = Path(__file__).resolve().parents[1]
QWEN_CONFIGS = sorted((ROOT / "configs" / "finetune").glob("qwen3.5-*.yaml"))


@pytest.fixture(scope="module")
def tiny_qwen35():
    import torch
    from transformers.models.qwen3_5 import Qwen3_5ForCausalLM, Qwen3_5TextConfig

    torch.manual_seed(0)
    config = Qwen3_5TextConfig(
        vocab_size=128,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=4,
        num_attention_heads=2,
        num_key_value_heads=1,
        head_dim=16,
        linear_num_key_heads=2,
        linear_num_value_heads=2,
        linear_key_head_dim=8,
        linear_value_head_dim=8,
        full_attention_interval=2,
    )
    assert set(config.layer_types) == {"linear_attention", "full_attention"}
    return Qwen3_5ForCausalLM(config)


def test_there_are_two_qwen_configs() -> None:
    assert [p.name for p in QWEN_CONFIGS] == ["qwen3.5-27b-lora-bf16.yaml", "qwen3.5-27b-qlora.yaml"]


@pytest.mark.parametrize("path", QWEN_CONFIGS, ids=lambda p: p.name)
def test_lora_targets_cover_linear_and_full_attention_layers(path: Path, tiny_qwen35) -> None:
    import copy

    from peft import LoraConfig, get_peft_model

    from psychosafe.finetune.train import check_target_modules

    cfg = load_finetune_config(path)
    assert cfg.base_model == "Qwen/Qwen3.5-27B"
    check_target_modules(tiny_qwen35, cfg.lora.target_modules)  # raises if a target names no module
    model = get_peft_model(
        copy.deepcopy(tiny_qwen35),
        LoraConfig(r=cfg.lora.r, lora_alpha=cfg.lora.alpha, target_modules=cfg.lora.target_modules),
    )
    adapted = {
        name.removesuffix(".lora_A.default") for name, _ in model.named_modules() if name.endswith("lora_A.default")
    }
    layer_types = tiny_qwen35.config.layer_types
    for index, kind in enumerate(layer_types):
        in_layer = {n.split(f"layers.{index}.", 1)[1] for n in adapted if f".layers.{index}." in n}
        if kind == "linear_attention":
            assert {"linear_attn.in_proj_qkv", "linear_attn.in_proj_z", "linear_attn.out_proj"} <= in_layer, in_layer
            assert not any(n.startswith("self_attn.") for n in in_layer)
        else:
            assert {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj"} <= in_layer
        assert {"mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"} <= in_layer
    # every configured target is used somewhere
    for target in cfg.lora.target_modules:
        assert any(n.endswith("." + target) for n in adapted), target
