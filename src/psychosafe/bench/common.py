"""Shared pieces of the benchmarks: model + adapter resolution, system prompts, generation through
Inspect into a resumable checkpoint, JSON output."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from psychosafe.errors import UserError

#: Condition name for "no system prompt at all".
NO_PROMPT = "none"


def system_prompt(condition: str) -> str | None:
    """The condition's system prompt text (``none``: no system prompt)."""
    if condition == NO_PROMPT:
        return None
    from psychosafe.prompts import load_prompt

    return load_prompt(condition).text


def prompt_meta(condition: str) -> dict[str, Any]:
    if condition == NO_PROMPT:
        return {"version": None, "sha256": None}
    from psychosafe.prompts import load_prompt

    p = load_prompt(condition)
    return {"version": p.version, "sha256": p.sha256}


def adapter_kind(adapter: Path) -> str:
    """``peft`` (a LoRA adapter directory) or ``merged`` (a full model directory)."""
    if (adapter / "adapter_config.json").is_file():
        return "peft"
    if (adapter / "config.json").is_file():
        return "merged"
    raise UserError(
        f"--adapter {adapter}: not a PEFT adapter (no adapter_config.json) nor a model directory (no config.json); "
        "pass the adapter/ or merged/ folder of a `psychosafe finetune` run"
    )


def resolve_bench_model(
    spec: str, model_args: dict[str, Any] | None = None, adapter: Path | None = None, prepare: bool = True
) -> Any:
    """Resolve ``spec`` like ``psychosafe run`` does; with ``adapter``, load that directory instead of the base
    weights through Inspect's hf provider (``model_path=DIR``: a merged model directory as it is, a PEFT adapter
    through transformers' built-in PEFT loading, which reads the base model from ``adapter_config.json``).
    ``prepare=False`` only validates (a bad spec or adapter fails before any work)."""
    from psychosafe.models.spec import resolve_model

    model = resolve_model(spec, model_args, prepare=prepare)
    if adapter is None:
        return model
    adapter_kind(adapter)
    if not model.inspect_model.startswith("hf/"):
        raise UserError(
            f"--adapter works with the hf provider ('embedded' or hf/...), not {spec!r}: merge the adapter "
            "(`psychosafe finetune` with merge: true) and serve the merged/ directory with your provider instead"
        )
    model.model_args = {**model.model_args, "model_path": str(adapter.resolve())}
    return model


def generate_into(
    checkpoint_path: Path,
    conditions: Sequence[str],
    ids: Sequence[str],
    make_tasks: Callable[[str, list[str]], Any],
    model: Callable[[], Any],
    log_dir: Path,
    batch_size: int,
    display: str | None,
    what: str,
) -> Any:
    """Generate every (condition, id) not yet in the checkpoint at ``checkpoint_path``: ``make_tasks(condition,
    pending_ids)`` builds one Inspect task (no scorer) per condition, run on ``model()`` (resolved only when there
    is work: preparing a model costs time), each finished sample appended to the checkpoint as it completes.
    Returns the checkpoint, complete; an interrupted or incomplete generation is a :class:`UserError`."""
    from psychosafe.run.checkpoint import JsonlCheckpoint, recording

    checkpoint = JsonlCheckpoint(checkpoint_path, key=("condition", "id"))
    pending = {c: [i for i in ids if (c, i) not in checkpoint] for c in conditions}
    todo, total = sum(len(v) for v in pending.values()), len(ids) * len(conditions)
    if not todo:
        print(f"{what}: all {total} responses already in {checkpoint_path}", file=sys.stderr)
        return checkpoint
    print(f"{what}: {total - todo} of {total} responses already done, {todo} to go", file=sys.stderr)
    from inspect_ai import eval as inspect_eval

    tasks = [make_tasks(c, missing) for c, missing in pending.items() if missing]
    resolved = model()
    with recording(checkpoint, resolved.spec):
        logs = inspect_eval(
            tasks,
            model=resolved.inspect_model,
            model_args=resolved.model_args,
            log_dir=str(log_dir),
            max_connections=batch_size,
            max_samples=batch_size,
            display=display,  # type: ignore[arg-type]
            fail_on_error=False,
            log_buffer=batch_size,
        )
    if not logs or any(log.status == "cancelled" for log in logs):
        raise UserError(f"{what} interrupted: finished responses are saved in {checkpoint_path}; run again to resume")
    missing = sum(1 for c in conditions for i in ids if (c, i) not in checkpoint)
    if missing:
        raise UserError(
            f"{what} incomplete: {missing} responses missing (see the Inspect logs in {log_dir}); "
            "run the same command again to resume"
        )
    return checkpoint


def prepare_dir(out: Path) -> Path:
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create the output directory {out} ({exc.strerror}): choose another --out") from None
    return out


def write_json(path: Path, data: dict[str, Any]) -> Path:
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def rate(hits: int, n: int) -> float | None:
    return round(hits / n, 4) if n else None
