"""Real LoRA training of the embedded model for a few steps: loss, weights, reload, resume, merge, serving."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from psychosafe.finetune.config import load_finetune_config

TINY = [
    "data.domains=[suicide_self_harm]",
    "data.system_prompt=none",
    "data.eval_fraction=0.25",
    "train.max_steps=4",
    "train.save_steps=2",
    "train.batch_size=2",
    "train.max_length=128",
    "train.learning_rate=0.003",
    "train.progress_bar=false",
    "lora.r=8",
    "lora.alpha=16",
    "merge=true",
]


@pytest.fixture(scope="module")
def trained(tmp_path_factory, embedded_dir):
    from psychosafe.finetune.train import train

    config = load_finetune_config(None, TINY)
    run_dir = tmp_path_factory.mktemp("ft") / "run"
    return config, train(config, run_dir)


@pytest.mark.slow
def test_training_lowers_the_loss_and_writes_the_run_dir(trained) -> None:
    config, result = trained
    run = result.run_dir
    for name in ("config.yaml", "manifest.json", "loss.png", "log_history.json", "data/train.jsonl", "data/eval.jsonl"):
        assert (run / name).is_file(), name
    assert (run / "adapter" / "adapter_config.json").is_file()
    assert sorted(p.name for p in (run / "checkpoints").glob("checkpoint-*")) == ["checkpoint-2", "checkpoint-4"]
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["global_step"] == 4
    assert manifest["fingerprint"] == config.fingerprint()
    assert len(manifest["data"]["sha256"]) == 64
    assert manifest["data"]["counts"]["train"]["benign"] > 0  # the selectivity mix
    assert manifest["versions"]["trl"] and manifest["versions"]["peft"]
    metrics = manifest["metrics"]
    assert metrics["eval_loss_after"] < metrics["eval_loss_before"], metrics
    assert metrics["train_tokens"] > 0 and metrics["tokens_per_second"] > 0
    assert (run / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the loss is on the assistant response only: the prompt tokens of every example carry no label
    train_rows = [json.loads(line) for line in (run / "data" / "train.jsonl").read_text().splitlines()]
    assert all(r["completion"][0]["role"] == "assistant" and r["prompt"][-1]["role"] == "user" for r in train_rows)


@pytest.mark.slow
def test_lora_weights_change_base_weights_do_not_and_adapter_reloads(trained, embedded_dir: Path) -> None:
    import torch
    from peft import PeftModel
    from safetensors.torch import load_file
    from transformers import AutoModelForCausalLM, AutoTokenizer

    _, result = trained
    adapter = load_file(str(result.adapter_dir / "adapter_model.safetensors"))
    lora_b = [v for k, v in adapter.items() if "lora_B" in k]
    assert lora_b and all(k.split(".")[-2] in ("lora_A", "lora_B") for k in adapter)  # only LoRA weights saved
    assert any(v.abs().sum() > 0 for v in lora_b)  # lora_B starts at zero: training moved it
    original = load_file(str(embedded_dir / "model.safetensors"))
    base = AutoModelForCausalLM.from_pretrained(embedded_dir, dtype=torch.float32)
    model = PeftModel.from_pretrained(base, str(result.adapter_dir))
    state = model.get_base_model().state_dict()
    for key in ("model.layers.0.self_attn.q_proj.base_layer.weight", "model.embed_tokens.weight"):
        assert torch.equal(state[key], original[key.replace(".base_layer", "")].float()), key
    # the merged copy differs from the base exactly where LoRA was applied
    merged = load_file(str(result.merged_dir / "model.safetensors"))  # saved in the training dtype

    def as_merged(key: str) -> torch.Tensor:
        return original[key].to(merged[key].dtype)

    q = "model.layers.0.self_attn.q_proj.weight"
    assert not torch.equal(merged[q], as_merged(q))
    assert torch.equal(merged["model.embed_tokens.weight"], as_merged("model.embed_tokens.weight"))
    # transformers loads base + adapter from the adapter directory alone and generates
    tok = AutoTokenizer.from_pretrained(result.adapter_dir)
    reloaded = AutoModelForCausalLM.from_pretrained(result.adapter_dir, dtype=torch.float32)
    assert hasattr(reloaded, "peft_config")
    ids = tok.apply_chat_template(
        [{"role": "user", "content": "I feel like nobody would notice if I was gone."}],
        add_generation_prompt=True,
        return_tensors="pt",
        return_dict=True,
    )
    out = reloaded.generate(**ids, max_new_tokens=8, do_sample=False)
    assert tok.decode(out[0, ids["input_ids"].shape[1] :], skip_special_tokens=True).strip()


@pytest.mark.slow
def test_resume_continues_the_step_count(trained, tmp_path: Path) -> None:
    from psychosafe.finetune.train import train

    config, result = trained
    run = tmp_path / "resumed"
    shutil.copytree(result.run_dir, run, ignore=shutil.ignore_patterns("checkpoint-4", "merged", "adapter"))
    (run / "manifest.json").unlink()
    resumed = train(config.model_copy(update={"merge": False}), run, resume=True)
    assert resumed.manifest["resumed_from"].endswith("checkpoint-2")
    assert resumed.manifest["global_step"] == 4
    steps = [h["step"] for h in json.loads((run / "log_history.json").read_text()) if "loss" in h]
    assert steps == [1, 2, 3, 4]  # steps 1-2 from the checkpoint's state, 3-4 trained now: no restart at 1
    # a finished run with the same settings is reused, not trained again
    again = train(config.model_copy(update={"merge": False}), run)
    assert again.reused and again.manifest["global_step"] == 4


@pytest.mark.slow
def test_inspect_evaluates_the_finetuned_model(trained, embedded_dir: Path, tmp_path: Path) -> None:
    from inspect_ai import eval as inspect_eval

    from psychosafe.finetune.condition import serve
    from psychosafe.models.spec import resolve_model
    from psychosafe.tasks.refusal_quality import refusal_quality

    _, result = trained
    model = serve(resolve_model("embedded"), result.merged_dir)
    assert model.model_args["model_path"] == str(result.merged_dir)
    task = refusal_quality(condition="finetuned", limit=1, judge="none", max_tokens=8)
    [log] = inspect_eval(
        task, model=model.inspect_model, model_args=model.model_args, display="none", log_dir=str(tmp_path)
    )
    assert log.status == "success"
    assert log.samples and log.samples[0].output.completion.strip()


@pytest.mark.slow
def test_run_evaluates_an_adapter_as_the_finetuned_condition(trained, cli, tmp_path: Path) -> None:
    _, result = trained
    config = tmp_path / "run.yaml"
    config.write_text(
        "profile: smoke\nconditions: [baseline]\nrisk_per_domain: 1\nbenign: 1\nmax_tokens: 12\n"
        "bootstrap_resamples: 100\n"
    )
    out = tmp_path / "run"
    args = ["run", "--config", str(config), "--out", str(out), "--display", "none", "--adapter", str(result.merged_dir)]
    run = cli(*args)
    assert run.exit_code == 0, run.output
    results = json.loads((out / "results.json").read_text())
    assert set(results["conditions"]) == {"baseline", "finetuned"}
    assert "over_refusal" in results["conditions"]["finetuned"]
    assert results["relative_improvement"]["finetuned"]
    generations = [json.loads(line) for line in (out / "generations.jsonl").read_text().splitlines()]
    assert {g["model"] for g in generations if g["condition"] == "finetuned"} == {f"finetuned:{result.merged_dir}"}
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["finetune"] == {"adapter": str(result.merged_dir), "trained": False}
