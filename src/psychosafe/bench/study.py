"""The outside checks inside ``psychosafe run``: XSTest and downstream ability per condition, when the
run configuration names their data (``xstest_data``, ``downstream_tasks``). Resumable: every condition
has its own sub-directory with checkpoints, and finished downstream runs are not repeated."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from psychosafe.bench.common import write_json

#: ``${PSYCHOSAFE_DATA}`` in a profile's data settings: this environment variable, else the evaluation data
#: folder beside the checkout (the layout CI and the tests use).
DATA_VARIABLE = "PSYCHOSAFE_DATA"
DEFAULT_DATA = "../shared/data"


def resolve_data(value: str) -> str:
    """A data setting with ``${PSYCHOSAFE_DATA}`` expanded."""
    return value.replace("${" + DATA_VARIABLE + "}", os.environ.get(DATA_VARIABLE) or DEFAULT_DATA)


def _resolve(config: Any, setting: str) -> tuple[Any, str | None]:
    """The config with ``setting`` expanded, and why its section is skipped: a local path that does not exist
    (dataset ids such as ``org/name`` pass; an unset setting is nothing to check)."""
    raw = getattr(config, setting) or ""
    if not raw:
        return config, None
    value = resolve_data(raw)
    config = config.model_copy(update={setting: value})
    if Path(value).exists() or ("${" not in raw and value.count("/") == 1 and not value.startswith((".", "/"))):
        return config, None
    hint = f" (set {DATA_VARIABLE} to your evaluation data folder)" if "${" in raw else ""
    return config, f"{setting} {value} not found{hint}; section skipped"


def _skipped(section: str, why: str) -> dict[str, str]:
    print(f"{section}: {why}", file=sys.stderr)
    return {"skipped": why}


def _adapter(out: Path, condition: str, config: Any) -> Path | None:
    """The fine-tuned model directory for the ``finetuned`` condition (from the run's finetune.json)."""
    if condition != "finetuned":
        return None
    if getattr(config, "adapter", None):
        return Path(config.adapter)
    entry_file = out / "finetune.json"
    if not entry_file.is_file():
        return None
    entry = json.loads(entry_file.read_text("utf-8"))
    path = entry.get("merged") or entry.get("adapter")
    return Path(path) if path else None


def _xstest(config: Any, out: Path, display: str | None) -> dict[str, Any]:
    from psychosafe.bench.xstest import run_xstest

    sections: dict[str, Any] = {}
    meta: dict[str, Any] = {}
    for condition in config.conditions:
        adapter = _adapter(out, condition, config)
        if condition == "finetuned" and adapter is None:
            print("xstest: no fine-tuned model in this run yet; skipping the finetuned condition", file=sys.stderr)
            continue
        result = run_xstest(
            config.xstest_data,
            out / "xstest" / condition,
            model=config.model,
            model_args=config.model_args,
            conditions=[condition],
            adapter=adapter,
            limit=config.xstest_limit,
            classifier=config.judge,
            classifier_args=config.judge_args,
            max_tokens=config.max_tokens,
            batch_size=config.batch_size,
            seed=config.seed,
            display=display,
        )
        sections[condition] = result["conditions"][condition]
        meta = {k: result["meta"][k] for k in ("data", "classifier", "limit", "n_prompts", "max_tokens")}
    write_json(out / "xstest.json", {"meta": {**meta, "model": config.model}, "conditions": sections})
    return sections


def _downstream(config: Any, out: Path) -> dict[str, Any]:
    from psychosafe.bench.downstream import compare_with, parse_tasks, run_downstream

    tasks = parse_tasks(config.downstream_tasks)
    data_dir = Path(config.downstream_data_dir) if config.downstream_data_dir else None
    sections: dict[str, Any] = {}
    for condition in config.conditions:
        adapter = _adapter(out, condition, config)
        if condition == "finetuned" and adapter is None:
            continue
        sub = out / "downstream" / condition
        previous = sub / "downstream.json"
        if previous.is_file():
            done = json.loads(previous.read_text("utf-8"))
            if set(done.get("tasks", {})) == set(tasks) and done["meta"].get("limit") == config.downstream_limit:
                print(f"downstream: {condition} already done in {previous}", file=sys.stderr)
                sections[condition] = done["tasks"]
                continue
        result = run_downstream(
            sub,
            tasks,
            model=config.model,
            model_args=config.model_args,
            adapter=adapter,
            data_dir=data_dir,
            limit=config.downstream_limit,
            condition=condition,
            seed=config.seed,
        )
        sections[condition] = result["tasks"]
    deltas = {
        c: compare_with({"tasks": t}, {"tasks": sections["baseline"]})
        for c, t in sections.items()
        if c != "baseline" and "baseline" in sections
    }
    write_json(
        out / "downstream.json",
        {
            "meta": {
                "model": config.model,
                "tasks": tasks,
                "limit": config.downstream_limit,
                "data_dir": str(data_dir),
            },
            "conditions": sections,
            "delta_vs_baseline": deltas,
        },
    )
    return {"conditions": sections, "delta_vs_baseline": deltas}


def run_benchmarks(config: Any, out: Path, display: str | None = None) -> dict[str, Any]:
    """``{"xstest": ..., "downstream": ...}`` for the sections the configuration turns on (else ``{}``).

    A section whose local data is missing is skipped with a message (``{"skipped": why}``), so a profile that
    names the evaluation data folder still runs on a machine without it."""
    sections: dict[str, Any] = {}
    if getattr(config, "xstest_data", None):
        config, why = _resolve(config, "xstest_data")
        sections["xstest"] = _skipped("xstest", why) if why else _xstest(config, out, display)
    if getattr(config, "downstream_tasks", None):
        config, why = _resolve(config, "downstream_data_dir")
        sections["downstream"] = _skipped("downstream", why) if why else _downstream(config, out)
    return sections
