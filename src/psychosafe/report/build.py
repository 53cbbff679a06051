"""Collect a run directory and compute everything the report shows.

Read from the run directory (all but ``results.json`` optional, missing sections are left out):

- ``results.json`` (required: a finished run), ``config.yaml``, ``manifest.json``;
- ``generations.jsonl`` (responses) and ``judgments.jsonl`` (verdicts of the judge named in ``results.json``);
- ``xstest.json``, ``sorry_bench.json``, ``downstream.json``, ``agreement.json`` (each also looked up as
  ``<name>/<name>.json``), and the fine-tuning loss history under ``finetune/`` (``log_history.json`` or a
  checkpoint's ``trainer_state.json``).

Items come from the corpus (:func:`psychosafe.corpus.load_corpus`) by id, for their domain, kind and prompt.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from psychosafe.errors import UserError
from psychosafe.records import CorpusRecord, Scores
from psychosafe.run.results import REPORT_KEYS, item_values

#: Optional sections read when present: file stem -> title.
EXTRA_SECTIONS: dict[str, str] = {
    "xstest": "XSTest",
    "sorry_bench": "SORRY-Bench",
    "downstream": "Downstream ability",
    "agreement": "Judge-human agreement",
}
#: Keys of the main table (risk items): every rubric dimension plus the derived scores.
MAIN_KEYS: tuple[str, ...] = REPORT_KEYS
#: Keys shown per domain.
DOMAIN_KEYS: tuple[str, ...] = ("refusal_quality", "refusal", "referral_rate", "overall")


@dataclass
class RunData:
    """A finished run directory, read back."""

    run_dir: Path
    results: dict[str, Any]
    config: dict[str, Any]
    manifest: dict[str, Any]
    judge: str | None
    conditions: list[str]
    items: dict[str, CorpusRecord]
    #: ``values[condition][kind][id]`` -> per-item values (rubric keys + derived), scored items only
    values: dict[str, dict[str, dict[str, dict[str, float]]]]
    responses: dict[tuple[str, str], str]
    unscored: dict[str, int]
    judgments_by_judge: dict[str, dict[str, int]]
    rubric_versions: list[str]
    unknown_ids: list[str]
    extras: dict[str, Any] = field(default_factory=dict)
    loss_history: list[dict[str, float]] = field(default_factory=list)
    loss_source: str | None = None

    @property
    def resamples(self) -> int:
        return int(self.config.get("bootstrap_resamples") or 2000)

    @property
    def seed(self) -> int:
        return int(self.config.get("seed") or 0)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise UserError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg}); fix or remove the file") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot read ({exc.strerror})") from None


def _jsonl(path: Path) -> list[dict[str, Any]]:
    """Records of a JSONL checkpoint; a line cut short by a kill is skipped, like the runner does."""
    if not path.is_file():
        return []
    out = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict):
                out.append(record)
    return out


def _find_extra(run_dir: Path, stem: str) -> Path | None:
    for candidate in (run_dir / f"{stem}.json", run_dir / stem / f"{stem}.json"):
        if candidate.is_file():
            return candidate
    return None


def _loss_history(run_dir: Path) -> tuple[list[dict[str, float]], str | None]:
    """The longest Transformers loss history under ``finetune/``: ``log_history.json`` (a list, as
    ``psychosafe finetune`` writes it) or a checkpoint's ``trainer_state.json`` (its ``log_history``)."""
    root = run_dir / "finetune"
    if not root.is_dir():
        return [], None
    best: tuple[float, int, list[dict[str, float]], Path] | None = None
    for path in [*root.rglob("log_history.json"), *root.rglob("trainer_state.json")]:
        try:
            state = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
        entries = state.get("log_history", []) if isinstance(state, dict) else state
        if not isinstance(entries, list):
            continue
        history = [
            {k: float(v) for k, v in entry.items() if isinstance(v, int | float) and not isinstance(v, bool)}
            for entry in entries
            if isinstance(entry, dict)
        ]
        history = [h for h in history if "step" in h and ("loss" in h or "eval_loss" in h)]
        if not history:
            continue
        rank = (max(h["step"] for h in history), int(path.name == "log_history.json"))
        if best is None or rank > best[:2]:
            best = (*rank, history, path)
    if best is None:
        return [], None
    return best[2], str(best[3].relative_to(run_dir))


def load_run(run_dir: Path) -> RunData:
    """Read a finished run directory; a :class:`UserError` when it is not one."""
    from psychosafe.corpus import load_corpus

    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise UserError(f"{run_dir}: no such directory; give the run directory of `psychosafe run --out DIR`")
    results_path = run_dir / "results.json"
    if not results_path.is_file():
        hint = (
            "the run has not finished: run `psychosafe run` again with the same --out to finish it"
            if (run_dir / "generations.jsonl").exists() or (run_dir / "config.yaml").exists()
            else "it is not a psychosafe run directory (made by `psychosafe run --out DIR`)"
        )
        raise UserError(f"{run_dir}: no results.json; {hint}")
    results = _read_json(results_path)
    if not isinstance(results, dict) or not isinstance(results.get("conditions"), dict):
        raise UserError(f"{results_path}: not a psychosafe results file (no 'conditions'); re-run `psychosafe run`")
    config: dict[str, Any] = {}
    if (run_dir / "config.yaml").is_file():
        try:
            config = yaml.safe_load((run_dir / "config.yaml").read_text(encoding="utf-8")) or {}
        except yaml.YAMLError:
            config = {}
    manifest = _read_json(run_dir / "manifest.json") if (run_dir / "manifest.json").is_file() else {}
    meta = results.get("meta") or {}
    judge = meta.get("judge") or manifest.get("judge")
    conditions = list(results["conditions"])
    corpus = {r.id: r for r in load_corpus()}

    judgments = _jsonl(run_dir / "judgments.jsonl")
    by_judge: dict[str, dict[str, int]] = defaultdict(lambda: {"scored": 0, "unscored": 0})
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    versions: set[str] = set()
    for record in judgments:
        name = str(record.get("judge"))
        status = "scored" if record.get("scores") else "unscored"
        by_judge[name][status] += 1
        if record.get("rubric_version"):
            versions.add(str(record["rubric_version"]))
        if name == judge:
            latest[(str(record.get("condition")), str(record.get("id")))] = record

    values: dict[str, dict[str, dict[str, dict[str, float]]]] = {c: {"risk": {}, "benign": {}} for c in conditions}
    unscored: dict[str, int] = dict.fromkeys(conditions, 0)
    unknown: set[str] = set()
    for (condition, item_id), record in latest.items():
        if condition not in values:
            continue
        item = corpus.get(item_id)
        if item is None:
            unknown.add(item_id)
            continue
        if not record.get("scores"):
            unscored[condition] += 1
            continue
        values[condition][item.kind][item_id] = item_values(Scores.model_validate(record["scores"]))
    responses = {
        (str(r.get("condition")), str(r.get("id"))): str(r.get("response", ""))
        for r in _jsonl(run_dir / "generations.jsonl")
    }
    used = {i for c in values.values() for kind in c.values() for i in kind} | {i for _, i in responses}
    items = {i: corpus[i] for i in sorted(used) if i in corpus}
    extras = {}
    for stem in EXTRA_SECTIONS:
        path = _find_extra(run_dir, stem)
        if path is not None:
            try:
                extras[stem] = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError):
                extras[stem] = {"error": f"{path.name} could not be read as JSON"}
    history, source = _loss_history(run_dir)
    return RunData(
        run_dir=run_dir,
        results=results,
        config=config,
        manifest=manifest,
        judge=judge,
        conditions=conditions,
        items=items,
        values=values,
        responses=responses,
        unscored=unscored,
        judgments_by_judge=dict(by_judge),
        rubric_versions=sorted(versions),
        unknown_ids=sorted(unknown),
        extras=extras,
        loss_history=history,
        loss_source=source,
    )


@dataclass
class ReportData:
    """Everything the Markdown and HTML reports show (plots are added by :mod:`psychosafe.report.plots`)."""

    run: RunData
    #: ``describe[condition][key]`` -> mean with 95% interval on risk items
    describe: dict[str, dict[str, dict[str, Any]]]
    #: ``comparisons[condition]`` -> :func:`psychosafe.stats.compare.compare_paired` vs baseline (risk items)
    comparisons: dict[str, dict[str, Any]]
    #: ``rates[condition]`` -> refusal / referral / harmful rates (risk) and over-refusal (benign), with intervals
    rates: dict[str, dict[str, dict[str, Any]]]
    #: ``domains[domain][condition]`` -> {"n": int, key: mean}
    domains: dict[str, dict[str, dict[str, Any]]]
    #: examples: [{"group", "item", "responses": {condition: {"text", "scores"}}}]
    examples: list[dict[str, Any]]
    test_method: str
    plots: dict[str, Path] = field(default_factory=dict)


def _mean(rows: list[dict[str, float]], key: str) -> float | None:
    return round(sum(r[key] for r in rows) / len(rows), 4) if rows else None


def pick_examples(run: RunData, per_group: int = 1) -> list[dict[str, Any]]:
    """Per domain (risk items), then benign: the first items (by id) answered in every condition."""
    groups: dict[str, list[CorpusRecord]] = defaultdict(list)
    for item in run.items.values():
        if all((c, item.id) in run.responses for c in run.conditions):
            groups[item.domain if item.kind == "risk" else "benign"].append(item)
    out = []
    for group in [*sorted(g for g in groups if g != "benign"), *(["benign"] if "benign" in groups else [])]:
        for item in sorted(groups[group], key=lambda i: i.id)[:per_group]:
            responses = {}
            for c in run.conditions:
                scored = run.values[c][item.kind].get(item.id)
                responses[c] = {"text": run.responses[(c, item.id)], "scores": scored}
            out.append({"group": group, "item": item, "responses": responses})
    return out


def compute(run: RunData, test_method: str = "wilcoxon", examples_per_group: int = 1) -> ReportData:
    """The report's statistics from a loaded run."""
    from psychosafe.stats.compare import compare_paired, describe, proportion_interval

    resamples, seed = run.resamples, run.seed
    described = {
        c: {k: describe(k, [v[k] for v in run.values[c]["risk"].values()], resamples, seed) for k in MAIN_KEYS}
        for c in run.conditions
    }
    comparisons = {}
    if "baseline" in run.conditions:
        for c in run.conditions:
            if c != "baseline":
                comparisons[c] = compare_paired(
                    run.values["baseline"]["risk"],
                    run.values[c]["risk"],
                    MAIN_KEYS,
                    resamples,
                    seed,
                    method=test_method,  # type: ignore[arg-type]
                )
    rates: dict[str, dict[str, dict[str, Any]]] = {}
    for c in run.conditions:
        risk = list(run.values[c]["risk"].values())
        benign = list(run.values[c]["benign"].values())
        entry = {}
        for name, rows, key in (
            ("refusal", risk, "refusal"),
            ("referral", risk, "referral_rate"),
            ("harmful_content", risk, "harmful_content"),
            ("over_refusal", benign, "refusal"),
        ):
            xs = [r[key] for r in rows]
            low, high = proportion_interval(xs)
            entry[name] = {"rate": _mean(rows, key), "ci_low": low, "ci_high": high, "n": len(xs)}
        rates[c] = entry
    domains: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for c in run.conditions:
        per: dict[str, list[dict[str, float]]] = defaultdict(list)
        for item_id, row in run.values[c]["risk"].items():
            per[run.items[item_id].domain].append(row)
        for d, rows in per.items():
            domains[d][c] = {"n": len(rows), **{k: _mean(rows, k) for k in DOMAIN_KEYS}}
    return ReportData(
        run=run,
        describe=described,
        comparisons=comparisons,
        rates=rates,
        domains={d: domains[d] for d in sorted(domains)},
        examples=pick_examples(run, examples_per_group),
        test_method=test_method,
    )


def flatten_numbers(data: Any, prefix: tuple[str, ...] = (), limit: int = 400) -> list[tuple[tuple[str, ...], float]]:
    """Numeric leaves of nested JSON as (path, value); lists are indexed. At most ``limit`` leaves."""
    out: list[tuple[tuple[str, ...], float]] = []

    def walk(node: Any, path: tuple[str, ...]) -> None:
        if len(out) >= limit:
            return
        if isinstance(node, bool):
            return
        if isinstance(node, int | float):
            out.append((path, float(node)))
        elif isinstance(node, dict):
            for k, v in node.items():
                walk(v, (*path, str(k)))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                name = str(v.get("name") or v.get("task") or v.get("dimension") or i) if isinstance(v, dict) else str(i)
                walk(v, (*path, name))

    walk(data, prefix)
    return out


def build_report(
    run_dir: Path,
    formats: tuple[str, ...] = ("md", "html"),
    test_method: str = "wilcoxon",
) -> list[Path]:
    """Write ``report.md`` and/or ``report.html`` (and ``plots/*.png``) into ``run_dir``; return the paths."""
    from psychosafe.report.plots import make_plots

    unknown = set(formats) - {"md", "html"}
    if unknown:
        raise UserError(f"unknown report format {sorted(unknown)[0]!r}: choose html, md or both")
    run = load_run(run_dir)
    data = compute(run, test_method=test_method)
    data.plots = make_plots(data, run.run_dir / "plots")
    written = []
    if "md" in formats:
        from psychosafe.report.markdown import render_report_markdown

        path = run.run_dir / "report.md"
        path.write_text(render_report_markdown(data), encoding="utf-8")
        written.append(path)
    if "html" in formats:
        from psychosafe.report.html import render_html

        path = run.run_dir / "report.html"
        path.write_text(render_html(data), encoding="utf-8")
        written.append(path)
    return written


REPORT_MODULES: tuple[str, ...] = ("matplotlib", "jinja2", "scipy", "statsmodels")


def missing_modules(modules: tuple[str, ...] = REPORT_MODULES) -> list[str]:
    import importlib.util

    return [m for m in modules if importlib.util.find_spec(m) is None]


def require_report_extra(modules: tuple[str, ...] = REPORT_MODULES) -> None:
    """A :class:`UserError` naming the missing packages of the ``report`` extra."""
    missing = missing_modules(modules)
    if missing:
        raise UserError(f"{', '.join(missing)} not installed: pip install 'psychosafe[report]'")


def write_run_report(run_dir: Path, results: dict[str, Any]) -> None:
    """Called at the end of ``psychosafe run``: the full report, or the plain Markdown table (with a note on
    stderr) when the ``report`` extra (matplotlib, jinja2, scipy, statsmodels) is not installed."""
    import sys

    missing = missing_modules()
    if not missing:
        build_report(run_dir)
        return
    from psychosafe.report.tables import render_markdown

    (Path(run_dir) / "report.md").write_text(render_markdown(results), encoding="utf-8")
    print(
        f"note: wrote the plain report.md only ({', '.join(missing)} missing): pip install 'psychosafe[report]' and "
        f"run `psychosafe report {run_dir}` for report.html and the plots",
        file=sys.stderr,
    )
