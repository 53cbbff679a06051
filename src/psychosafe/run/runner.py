"""Run the study: select items, generate per condition through Inspect, judge, aggregate.

Every stage checkpoints to the run directory, so running the same command again resumes.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml

from psychosafe import __version__
from psychosafe.corpus import load_corpus, select, stratified_order, stratified_sample
from psychosafe.errors import UserError
from psychosafe.records import CorpusRecord, JudgeInput, Message, Scores
from psychosafe.rubric import RUBRIC_VERSION, rubric_hash
from psychosafe.run.checkpoint import JsonlCheckpoint
from psychosafe.run.config import GENERATION_KEYS, RunConfig, dump_config


class Interrupted(Exception):
    """Generation stopped before every sample finished (Ctrl-C, kill of a worker, model errors)."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass
class RunPaths:
    out: Path

    @property
    def config(self) -> Path:
        return self.out / "config.yaml"

    @property
    def generations(self) -> Path:
        return self.out / "generations.jsonl"

    @property
    def judgments(self) -> Path:
        return self.out / "judgments.jsonl"

    @property
    def results(self) -> Path:
        return self.out / "results.json"

    @property
    def report(self) -> Path:
        return self.out / "report.md"

    @property
    def manifest(self) -> Path:
        return self.out / "manifest.json"

    @property
    def logs(self) -> Path:
        return self.out / "logs"


def prepare_out_dir(out: Path, config: RunConfig) -> RunPaths:
    """Create (or reopen) the run directory; refuse to mix generations of different settings."""
    paths = RunPaths(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        raise UserError(f"cannot write to the output directory {out} ({exc.strerror}): choose another --out") from None
    if paths.config.exists():
        try:
            previous = yaml.safe_load(paths.config.read_text()) or {}
        except yaml.YAMLError:
            previous = {}
        current = config.model_dump(mode="json")
        changed = [k for k in GENERATION_KEYS if k in previous and previous[k] != current[k]]
        if changed:
            key = changed[0]
            raise UserError(
                f"{out} holds a run made with {key}={previous[key]!r}, not {current[key]!r}: "
                "use another --out, or the same settings to resume it"
            )
    paths.config.write_text(dump_config(config))
    return paths


def study_items(config: RunConfig) -> list[CorpusRecord]:
    """Stratified risk items per domain plus benign items, in a stable order."""
    corpus = load_corpus()
    risk = select(corpus, split=config.split, domains=config.domains, kinds=["risk"])
    benign = select(corpus, split=config.split, domains=config.domains, kinds=["benign"])
    chosen = stratified_sample(risk, config.risk_per_domain, config.seed)
    chosen += stratified_order(benign, config.seed)[: config.benign]
    if not chosen:
        raise UserError(f"no corpus items match split={config.split!r} and domains={config.domains}")
    return chosen


def shortfall(config: RunConfig, items: list[CorpusRecord]) -> str | None:
    """A note when the corpus holds fewer items than the configuration asks for."""
    counts = {d: sum(i.domain == d and i.kind == "risk" for i in items) for d in config.domains}
    short = {d: n for d, n in counts.items() if n < config.risk_per_domain}
    benign = sum(i.kind == "benign" for i in items)
    if not short and benign >= config.benign:
        return None
    parts = [f"{d} {n}" for d, n in short.items()]
    return (
        f"note: the corpus has fewer {config.split} items than asked ({config.risk_per_domain} risk per domain, "
        f"{config.benign} benign); using what there is: {', '.join(parts) or 'risk complete'}, benign {benign}"
    )


def _git_sha() -> str | None:
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            cwd=Path(__file__).resolve().parent,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout.strip() or None if result.returncode == 0 else None


def _versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {"python": platform.python_version(), "psychosafe": __version__}
    for dist in ("inspect-ai", "torch", "transformers", "numpy"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = None
    return out


def _corpus_hash(items: list[CorpusRecord]) -> str:
    digest = hashlib.sha256()
    for item in items:
        digest.update(item.model_dump_json().encode())
    return digest.hexdigest()[:16]


def generate(config: RunConfig, paths: RunPaths, items: list[CorpusRecord], display: str | None) -> JsonlCheckpoint:
    """Generate every (condition, item) not yet in ``generations.jsonl``, through Inspect."""
    from inspect_ai import eval as inspect_eval

    from psychosafe.models.spec import resolve_model
    from psychosafe.run.checkpoint import recording
    from psychosafe.tasks.refusal_quality import refusal_quality

    checkpoint = JsonlCheckpoint(paths.generations, key=("condition", "id"))
    pending = {c: [i.id for i in items if (c, i.id) not in checkpoint] for c in config.conditions}
    todo = sum(len(v) for v in pending.values())
    total = len(items) * len(config.conditions)
    if not todo:
        print(f"generation: all {total} responses already in {paths.generations}", file=sys.stderr)
        return checkpoint
    print(f"generation: {total - todo} of {total} responses already done, {todo} to go", file=sys.stderr)
    model = resolve_model(config.model, config.model_args)
    # the prompted conditions run on the base model; `finetuned` on the fine-tuned one, trained (or reused) after them
    groups = [
        [c for c in pending if c != "finetuned" and pending[c]],
        ["finetuned"] if pending.get("finetuned") else [],
    ]
    logs: list[Any] = []
    for group in groups:
        if not group or any(log.status == "cancelled" for log in logs):
            continue
        group_model = model
        if group == ["finetuned"]:
            from psychosafe.finetune.condition import finetuned_model

            group_model, entry = finetuned_model(
                model, config.model, config.model_args, config.finetune, config.adapter
            )
            (paths.out / "finetune.json").write_text(json.dumps(entry, indent=2))
        tasks = [
            refusal_quality(
                condition=c,
                split=config.split,
                kinds=None,
                ids=pending[c],
                judge="none",
                seed=config.seed,
                max_tokens=config.max_tokens,
            )
            for c in group
        ]
        with recording(checkpoint, group_model.spec):
            logs += inspect_eval(
                tasks,
                model=group_model.inspect_model,
                model_args=group_model.model_args,
                log_dir=str(paths.logs),
                max_connections=config.batch_size,
                max_samples=config.batch_size,
                temperature=config.temperature,
                seed=config.seed,
                display=display,  # type: ignore[arg-type]
                fail_on_error=False,
                log_buffer=config.batch_size,
            )
    missing = sum(1 for c in config.conditions for i in items if (c, i.id) not in checkpoint)
    statuses = {log.status for log in logs}
    cancelled = not logs or "cancelled" in statuses
    if missing or cancelled:
        errors = [log.error.message for log in logs if log.error]
        reason = "interrupted" if cancelled else (errors[0].splitlines()[0] if errors else "incomplete")
        raise Interrupted(
            f"generation {reason}: {total - missing} of {total} responses saved in {paths.generations}; "
            "run the same command again to resume",
            exit_code=130 if cancelled else 1,
        )
    return checkpoint


def judge_all(
    config: RunConfig, paths: RunPaths, items: list[CorpusRecord], generations: JsonlCheckpoint
) -> tuple[str, dict[tuple[str, str], Scores | None]]:
    """Judge every generation not yet judged by this judge; returns the judge's name and
    ``{(condition, id): scores}`` (``None`` for an unscored item)."""
    from psychosafe.judge import get_judge

    judge = get_judge(config.judge, **config.judge_args)
    checkpoint = JsonlCheckpoint(paths.judgments, key=("condition", "id", "judge"))
    by_id = {i.id: i for i in items}
    todo: list[tuple[str, CorpusRecord, str]] = [
        (c, by_id[i], generations.records[(c, i)]["response"])
        for c in config.conditions
        for i in by_id
        if (c, i, judge.name) not in checkpoint
    ]
    if todo:
        print(f"judging {len(todo)} responses with {judge.name}", file=sys.stderr)
        inputs = [
            JudgeInput(
                id=item.id,
                messages=[Message(role=m.role, content=m.content) for m in item.messages],
                response=response,
                kind=item.kind,
                domain=item.domain,
                locale=item.locale,
            )
            for _, item, response in todo
        ]
        for (condition, item, _), verdict in zip(todo, judge.score(inputs), strict=True):
            checkpoint.append({"condition": condition, "id": item.id, **verdict.model_dump(mode="json")})
    verdicts: dict[tuple[str, str], Scores | None] = {}
    for c in config.conditions:
        for i in by_id:
            record = checkpoint.records[(c, i, judge.name)]
            verdicts[(c, i)] = Scores.model_validate(record["scores"]) if record.get("scores") else None
    return judge.name, verdicts


def run_study(
    config: RunConfig, out: Path, display: str | None = None, argv: list[str] | None = None
) -> dict[str, Any]:
    """The whole study into ``out``; returns ``results.json``'s content."""
    from psychosafe.models.spec import resolve_model
    from psychosafe.run.results import aggregate

    started = time.time()
    resolve_model(config.model, config.model_args, prepare=False)  # a bad model spec fails before any write
    paths = prepare_out_dir(out, config)
    items = study_items(config)
    note = shortfall(config, items)
    if note:
        print(note, file=sys.stderr)
    generations = generate(config, paths, items, display)
    judge_name, verdicts = judge_all(config, paths, items, generations)
    results = aggregate(items, verdicts, config.conditions, config.bootstrap_resamples, config.seed)
    results["meta"] = {
        "profile": config.profile,
        "model": config.model,
        "judge": judge_name,
        "rubric_version": RUBRIC_VERSION,
        "rubric_hash": rubric_hash(),
        "items": {"risk": sum(i.kind == "risk" for i in items), "benign": sum(i.kind == "benign" for i in items)},
    }
    from psychosafe.bench.study import run_benchmarks

    results.update(run_benchmarks(config, paths.out, display))  # xstest.json / downstream.json when configured
    paths.results.write_text(json.dumps(results, indent=2))
    from psychosafe.prompts import load_prompt

    manifest = {
        "psychosafe_version": __version__,
        "git_sha": _git_sha(),
        "versions": _versions(),
        "command": argv or sys.argv,
        "seed": config.seed,
        "model": config.model,
        "model_args": config.model_args,
        "judge": judge_name,
        "rubric_version": RUBRIC_VERSION,
        "rubric_hash": rubric_hash(),
        "prompts": {c: {"version": load_prompt(c).version, "sha256": load_prompt(c).sha256} for c in config.conditions},
        "items_hash": _corpus_hash(items),
        "n_items": len(items),
        "finetune": json.loads((paths.out / "finetune.json").read_text())
        if "finetuned" in config.conditions and (paths.out / "finetune.json").is_file()
        else None,
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "wall_seconds_last_invocation": round(time.time() - started, 1),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
    }
    paths.manifest.write_text(json.dumps(manifest, indent=2))
    from psychosafe.report.build import write_run_report

    write_run_report(paths.out, results)  # report.md, report.html, plots/ (after the manifest: it is shown)
    return results
