"""XSTest (Röttger et al., NAACL 2024): over-refusal on 250 safe prompts and refusal on 200 unsafe
``contrast_`` prompts, classified into full compliance, full refusal and partial refusal."""

from __future__ import annotations

import csv
import random
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from psychosafe.bench.common import (
    generate_into,
    prepare_dir,
    prompt_meta,
    rate,
    resolve_bench_model,
    write_json,
)
from psychosafe.errors import UserError

LABELS: tuple[str, ...] = ("1_full_compliance", "2_full_refusal", "3_partial_refusal")
#: The public dataset id used when ``--data`` names a Hugging Face dataset rather than a file.
HF_DATASET = "Paul/XSTest"
DEFAULT_MAX_TOKENS = 128


class XSTestPrompt(BaseModel):
    id: str
    prompt: str
    type: str
    label: str  # safe | unsafe
    focus: str = ""
    note: str = ""


def _rows_from_hf(dataset_id: str) -> list[dict[str, Any]]:
    try:
        from datasets import load_dataset

        ds = load_dataset(dataset_id, split="train")
    except Exception as exc:  # network, gate, unknown id: all the user's to fix
        raise UserError(
            f"--data {dataset_id}: cannot load it from the Hugging Face Hub ({type(exc).__name__}); "
            "pass a local copy of xstest_prompts.csv instead"
        ) from None
    return [dict(r) for r in ds]


def load_xstest(data: str | Path) -> list[XSTestPrompt]:
    """Read the XSTest prompt CSV (``id,prompt,type,label,focus,note``) from a path or a dataset id."""
    path = Path(data)
    if path.is_file():
        try:
            with path.open(encoding="utf-8", newline="") as handle:
                rows = list(csv.DictReader(handle))
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            raise UserError(f"--data {path}: cannot read it as the XSTest prompt CSV ({exc})") from None
    elif str(data).count("/") == 1 and not path.exists():
        rows = _rows_from_hf(str(data))
    else:
        raise UserError(f"--data {data}: no such file; pass xstest_prompts.csv or the dataset id {HF_DATASET}")
    if not rows or not {"prompt", "type", "label"} <= set(rows[0]):
        raise UserError(f"--data {data}: expected the XSTest columns id, prompt, type, label (focus, note)")
    prompts: list[XSTestPrompt] = []
    for n, row in enumerate(rows, start=1):
        label = str(row["label"]).strip().lower()
        if label not in ("safe", "unsafe"):
            raise UserError(f"--data {data}: row {n} has label {row['label']!r}; expected safe or unsafe")
        prompts.append(
            XSTestPrompt(
                id=str(row.get("id") or n),
                prompt=str(row["prompt"]),
                type=str(row["type"]),
                label=label,
                focus=str(row.get("focus") or ""),
                note=str(row.get("note") or ""),
            )
        )
    return prompts


def select_prompts(prompts: Sequence[XSTestPrompt], limit: int | None = None, seed: int = 0) -> list[XSTestPrompt]:
    """All prompts, or ``limit`` of them spread evenly over the prompt types (so safe and unsafe both
    appear), in a seeded order that is stable across runs: a larger limit extends a smaller one."""
    if not limit or limit >= len(prompts):
        return list(prompts)
    by_type: dict[str, list[XSTestPrompt]] = defaultdict(list)
    for p in prompts:
        by_type[p.type].append(p)
    rng = random.Random(seed)
    queues = []
    for t in sorted(by_type):
        group = list(by_type[t])
        rng.shuffle(group)
        queues.append(group)
    # alternate safe and unsafe types so that a small limit covers both labels
    safe = [q for q in queues if q[0].label == "safe"]
    unsafe = [q for q in queues if q[0].label == "unsafe"]
    order = [q for pair in zip(safe, unsafe, strict=False) for q in pair]
    order += safe[len(unsafe) :] + unsafe[len(safe) :]
    chosen: list[XSTestPrompt] = []
    depth = 0
    while len(chosen) < limit:
        for q in order:
            if depth < len(q) and len(chosen) < limit:
                chosen.append(q[depth])
        depth += 1
    return chosen


def _block(labels: Sequence[str | None]) -> dict[str, Any]:
    scored = [x for x in labels if x is not None]
    n = len(scored)
    full_c = sum(x == "1_full_compliance" for x in scored)
    full_r = sum(x == "2_full_refusal" for x in scored)
    part_r = sum(x == "3_partial_refusal" for x in scored)
    return {
        "n": len(labels),
        "scored": n,
        "unscored": len(labels) - n,
        "full_compliance": rate(full_c, n),
        "full_refusal": rate(full_r, n),
        "partial_refusal": rate(part_r, n),
        "refusal_rate": rate(full_r + part_r, n),
    }


def summarize(prompts: Sequence[XSTestPrompt], labels: Sequence[str | None]) -> dict[str, Any]:
    """Rates for ``safe`` and ``unsafe`` (overall and per prompt ``type``); ``None`` labels are unscored."""
    out: dict[str, Any] = {}
    for group in ("safe", "unsafe"):
        pairs = [(p, lab) for p, lab in zip(prompts, labels, strict=True) if p.label == group]
        block = _block([lab for _, lab in pairs])
        types: dict[str, list[str | None]] = defaultdict(list)
        for p, lab in pairs:
            types[p.type].append(lab)
        block["types"] = {t: _block(v) for t, v in sorted(types.items())}
        out[group] = block
    out["over_refusal"] = out["safe"]["refusal_rate"]
    return out


def run_xstest(
    data: str | Path,
    out: Path,
    model: str = "embedded",
    model_args: dict[str, Any] | None = None,
    conditions: Sequence[str] = ("psychosafe",),
    adapter: Path | None = None,
    limit: int | None = None,
    classifier: str = "offline",
    classifier_args: dict[str, Any] | None = None,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    batch_size: int = 16,
    seed: int = 0,
    display: str | None = None,
) -> dict[str, Any]:
    """Generate (resumable, ``xstest_generations.jsonl``), classify (``xstest_labels.jsonl``) and write
    ``out/xstest.json``; returns its content."""
    from psychosafe.judge import get_judge
    from psychosafe.run.checkpoint import JsonlCheckpoint
    from psychosafe.tasks.xstest import xstest as xstest_task

    started = time.time()
    prompts = select_prompts(load_xstest(data), limit, seed)
    for c in conditions:
        prompt_meta(c)  # unknown condition: fail before loading a model
    judge = get_judge(classifier, **(classifier_args or {}))
    resolve_bench_model(model, model_args, adapter, prepare=False)
    prepare_dir(out)
    generations = generate_into(
        out / "xstest_generations.jsonl",
        conditions,
        [p.id for p in prompts],
        lambda c, ids: xstest_task(
            data=str(data), condition=c, ids=",".join(ids), classifier="none", max_tokens=max_tokens
        ),
        lambda: resolve_bench_model(model, model_args, adapter),
        out / "logs",
        batch_size,
        display,
        "xstest generation",
    )
    labels_ck = JsonlCheckpoint(out / "xstest_labels.jsonl", key=("condition", "id", "classifier"))
    todo = [(c, p) for c in conditions for p in prompts if (c, p.id, judge.name) not in labels_ck]
    if todo:
        print(f"xstest: classifying {len(todo)} responses with {judge.name}", file=sys.stderr)
        pairs = [(p.prompt, generations.records[(c, p.id)]["response"]) for c, p in todo]
        for (c, p), label in zip(todo, judge.xstest(pairs), strict=True):
            labels_ck.append(
                {"condition": c, "id": p.id, "classifier": judge.name, "type": p.type, "label": p.label, "class": label}
            )
    results: dict[str, Any] = {
        "meta": {
            "benchmark": "xstest",
            "data": str(data),
            "model": model,
            "adapter": str(adapter) if adapter else None,
            "classifier": judge.name,
            "limit": limit,
            "n_prompts": len(prompts),
            "max_tokens": max_tokens,
            "seed": seed,
            "prompts": {c: prompt_meta(c) for c in conditions},
            "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "wall_seconds_last_invocation": round(time.time() - started, 1),
        },
        "conditions": {},
    }
    for c in conditions:
        labels = [labels_ck.records[(c, p.id, judge.name)]["class"] for p in prompts]
        results["conditions"][c] = summarize(prompts, labels)
    write_json(out / "xstest.json", results)
    return results


def render(results: dict[str, Any]) -> str:
    """A short plain-text table of ``xstest.json``."""

    def pct(x: float | None) -> str:
        return "  -  " if x is None else f"{100 * x:5.1f}"

    lines = [
        f"XSTest ({results['meta']['n_prompts']} prompts, classifier {results['meta']['classifier']})",
        f"{'condition':<12} {'group':<7} {'n':>4} {'compl%':>6} {'refus%':>6} {'part%':>6} {'any%':>6} {'unsc':>4}",
    ]
    for c, block in results["conditions"].items():
        for g in ("safe", "unsafe"):
            b = block[g]
            lines.append(
                f"{c:<12} {g:<7} {b['n']:>4} {pct(b['full_compliance']):>6} {pct(b['full_refusal']):>6} "
                f"{pct(b['partial_refusal']):>6} {pct(b['refusal_rate']):>6} {b['unscored']:>4}"
            )
    lines.append("safe refusal (any%) is over-refusal: lower is better; unsafe refusal: higher is better")
    return "\n".join(lines)
