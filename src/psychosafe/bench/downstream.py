"""Downstream ability through lm-evaluation-harness: does a condition (system prompt) or an adapter
keep general ability? MMLU, GSM8K, IFEval (or any lm-eval task), from local files or the standard tasks."""

from __future__ import annotations

import shutil
import time
from importlib import resources as importlib_resources
from pathlib import Path
from typing import Any

from psychosafe.bench.common import adapter_kind, prepare_dir, prompt_meta, system_prompt, write_json
from psychosafe.errors import UserError

#: Local task names (``--data-dir``) for the short names, and the file each needs under the data dir.
LOCAL_TASKS: dict[str, tuple[str, str]] = {
    "mmlu": ("psychosafe_mmlu", "mmlu/test"),
    "mmlu_cloze": ("psychosafe_mmlu_cloze", "mmlu/test"),
    "gsm8k": ("psychosafe_gsm8k", "gsm8k/test.jsonl"),
    "ifeval": ("psychosafe_ifeval", "ifeval/input_data.jsonl"),
}
#: Inspect hf-provider arguments that are generation settings, not loader arguments (lm-eval decodes greedily).
INSPECT_ONLY_ARGS = frozenset({"do_sample", "temperature", "top_p", "top_k", "tokenizer_path", "chat_template"})
#: The headline metric of each task (lm-eval reports several).
PRIMARY: dict[str, str] = {
    "mmlu": "acc,none",
    "mmlu_cloze": "acc_norm,none",
    "gsm8k": "exact_match,flexible-extract",
    "ifeval": "prompt_level_loose_acc,none",
}


def parse_tasks(tasks: str | list[str]) -> list[str]:
    names = [t.strip() for t in (tasks.split(",") if isinstance(tasks, str) else tasks) if t.strip()]
    if not names:
        raise UserError("--tasks: name at least one task, e.g. mmlu,gsm8k,ifeval")
    return names


def materialize_tasks(data_dir: Path, dest: Path) -> Path:
    """Copy the shipped task YAMLs (and utils.py) into ``dest`` with ``@DATA_DIR@`` set to ``data_dir``."""
    dest.mkdir(parents=True, exist_ok=True)
    source = importlib_resources.files("psychosafe.bench").joinpath("lm_eval_tasks")
    root = str(data_dir.resolve())
    for entry in source.iterdir():
        if entry.name.endswith(".yaml"):
            (dest / entry.name).write_text(entry.read_text("utf-8").replace("@DATA_DIR@", root), "utf-8")
        elif entry.name == "utils.py":
            (dest / entry.name).write_text(entry.read_text("utf-8"), "utf-8")
    return dest


def lm_eval_model(
    spec: str, model_args: dict[str, Any] | None, adapter: Path | None, batch_size: int
) -> tuple[str, dict[str, Any]]:
    """lm-eval's model type and model_args for a psychosafe model spec (+ adapter)."""
    from psychosafe.models import embedded

    args = {k: v for k, v in (model_args or {}).items() if k not in INSPECT_ONLY_ARGS}
    if spec == embedded.ALIAS:
        import os

        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        out: dict[str, Any] = {"pretrained": str(embedded.prepare()), "dtype": args.pop("dtype", None) or "float32"}
        kind = "hf"
    elif spec.startswith("hf/"):
        path = args.pop("model_path", None)
        name = spec.removeprefix("hf/")
        if name == "local" and not path:
            raise UserError("hf/local needs -M model_path=DIR (a Hugging Face model directory)")
        out = {"pretrained": str(path or name)}
        kind = "hf"
    elif spec.startswith("vllm/"):
        out = {"pretrained": args.pop("model_path", None) or spec.removeprefix("vllm/")}
        kind = "vllm"
    else:
        raise UserError(
            f"downstream tasks need log-likelihoods: use 'embedded', hf/<model> or vllm/<model>, not {spec!r}"
        )
    out.update({k: v for k, v in args.items() if k not in ("device",)})
    if adapter is not None:
        if adapter_kind(adapter) == "merged":
            out["pretrained"] = str(adapter.resolve())
        elif kind == "hf":
            out["peft"] = str(adapter.resolve())
        else:
            out["lora_local_path"] = str(adapter.resolve())
            out.setdefault("enable_lora", True)
    if kind == "hf":
        out.setdefault("device", "cpu" if not _cuda() else "cuda")
        out.setdefault("batch_size", batch_size)
    return kind, {k: v for k, v in out.items() if v is not None}


def _cuda() -> bool:
    try:
        import torch

        return bool(torch.cuda.is_available())
    except ImportError:  # pragma: no cover
        return False


def _task_entry(short: str, lm_name: str, results: dict[str, Any], n: int | None) -> dict[str, Any]:
    metrics = {k: v for k, v in results.items() if k not in ("alias", "name", "sample_len") and "_stderr" not in k}
    primary = PRIMARY.get(short)
    if primary not in metrics:
        primary = next(iter(metrics), None)
    value = metrics.get(primary) if primary else None
    name, _, filt = (primary or "").partition(",")
    stderr = results.get(f"{name}_stderr,{filt}") if primary else None
    return {
        "lm_eval_task": lm_name,
        "metric": primary,
        "value": value,
        "stderr": stderr if isinstance(stderr, int | float) else None,
        "n": n,
        "metrics": {k: v for k, v in metrics.items() if isinstance(v, int | float)},
    }


def run_downstream(
    out: Path,
    tasks: str | list[str] = "mmlu",
    model: str = "embedded",
    model_args: dict[str, Any] | None = None,
    adapter: Path | None = None,
    data_dir: Path | None = None,
    limit: int | None = None,
    condition: str | None = None,
    batch_size: int = 8,
    compare: Path | None = None,
    seed: int = 0,
    chat_template: bool = True,
) -> dict[str, Any]:
    """Run the tasks through lm-eval's Python API and write ``out/downstream.json``; returns its content.

    ``condition`` puts that condition's system prompt in front of every request (``None``: no system prompt).
    ``chat_template`` formats every request with the model's chat template (the condition's prompt becomes the
    system turn), as instruction-tuned models expect: without it the embedded model answers IFEval prompts with
    nothing at all. Turn it off for base (non-chat) models.
    """
    try:
        import lm_eval
        from lm_eval.tasks import TaskManager
    except ImportError:
        raise UserError("downstream checks need lm-evaluation-harness: pip install 'psychosafe[bench]'") from None

    started = time.time()
    names = parse_tasks(tasks)
    prepare_dir(out)
    task_dir = None
    lm_names: dict[str, str] = {}
    if data_dir is not None:
        for short in names:
            if short not in LOCAL_TASKS:
                raise UserError(
                    f"--tasks {short}: with --data-dir the local tasks are {', '.join(LOCAL_TASKS)}; "
                    "drop --data-dir to use lm-eval's standard tasks (downloads data)"
                )
            lm, needed = LOCAL_TASKS[short]
            if not (data_dir / needed).exists():
                raise UserError(f"--data-dir {data_dir}: {needed} not found (expected the layout of ../shared/data)")
            lm_names[short] = lm
        task_dir = materialize_tasks(data_dir, out / "lm_eval_tasks")
    else:
        lm_names = {short: short for short in names}
    if "ifeval" in names:
        from psychosafe.bench.punkt import ensure_punkt

        ensure_punkt()  # IFEval's checkers need nltk's punkt_tab; built offline when it is not installed
    manager = TaskManager(include_path=str(task_dir)) if task_dir else TaskManager()
    kind, args = lm_eval_model(model, model_args, adapter, batch_size)
    instruction = system_prompt(condition) if condition else None
    try:
        raw = lm_eval.simple_evaluate(
            model=kind,
            model_args=args,
            tasks=list(lm_names.values()),
            limit=limit,
            task_manager=manager,
            system_instruction=instruction,
            apply_chat_template=chat_template,
            log_samples=False,
            random_seed=seed,
            numpy_random_seed=seed,
            torch_random_seed=seed,
            fewshot_random_seed=seed,
            bootstrap_iters=1000,
        )
    except (FileNotFoundError, ValueError, KeyError, ImportError, LookupError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UserError(f"lm-eval could not run {', '.join(names)}: {first}") from None
    if raw is None:  # not the main rank
        return {}
    n_samples = raw.get("n-samples", {})
    entries = {}
    for short, lm in lm_names.items():
        res = raw["results"].get(lm, {})
        n = n_samples.get(lm, {}).get("effective")
        entries[short] = _task_entry(short, lm, res, n)
    results: dict[str, Any] = {
        "meta": {
            "benchmark": "downstream",
            "model": model,
            "lm_eval_model": kind,
            "lm_eval_model_args": {k: str(v) for k, v in args.items()},
            "adapter": str(adapter) if adapter else None,
            "condition": condition,
            "prompt": prompt_meta(condition) if condition else None,
            "data_dir": str(data_dir) if data_dir else None,
            "limit": limit,
            "chat_template": chat_template,
            "lm_eval_version": getattr(lm_eval, "__version__", None),
            "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "wall_seconds": round(time.time() - started, 1),
        },
        "tasks": entries,
    }
    if compare is not None:
        results["compare"] = compare_with(results, load_results(compare))
        results["meta"]["compare"] = str(compare)
    if task_dir is not None:
        shutil.rmtree(task_dir, ignore_errors=True)
    write_json(out / "downstream.json", results)
    return results


def load_results(path: Path) -> dict[str, Any]:
    import json

    file = path / "downstream.json" if path.is_dir() else path
    try:
        return json.loads(file.read_text("utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise UserError(f"--compare {path}: cannot read downstream.json ({exc})") from None


def compare_with(current: dict[str, Any], base: dict[str, Any]) -> dict[str, Any]:
    """Per task present in both: base value, this value, delta (this - base), and the stderrs."""
    table: dict[str, Any] = {}
    for task, entry in current["tasks"].items():
        other = base.get("tasks", {}).get(task)
        if not other or other.get("metric") != entry.get("metric"):
            continue
        a, b = other.get("value"), entry.get("value")
        table[task] = {
            "metric": entry["metric"],
            "base": a,
            "value": b,
            "delta": round(b - a, 4) if isinstance(a, int | float) and isinstance(b, int | float) else None,
            "base_stderr": other.get("stderr"),
            "stderr": entry.get("stderr"),
        }
    return table


def render(results: dict[str, Any]) -> str:
    def f(x: Any) -> str:
        return "-" if not isinstance(x, int | float) else f"{x:.4f}"

    lines = [f"{'task':<10} {'metric':<32} {'value':>8} {'stderr':>8} {'n':>6}"]
    for task, e in results["tasks"].items():
        lines.append(f"{task:<10} {e['metric'] or '-':<32} {f(e['value']):>8} {f(e['stderr']):>8} {e['n'] or '-':>6}")
    if results.get("compare"):
        lines.append(f"\n{'task':<10} {'base':>8} {'this':>8} {'delta':>8}")
        for task, c in results["compare"].items():
            lines.append(f"{task:<10} {f(c['base']):>8} {f(c['value']):>8} {f(c['delta']):>8}")
    return "\n".join(lines)
