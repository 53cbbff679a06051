"""SORRY-Bench (Xie et al., ICLR 2025): fulfilment rate of unsafe instructions, per category and per
linguistic-mutation style.

The dataset is gated and its license forbids redistribution, so the project never ships it: it reads the
user's own ``question.jsonl`` (official format: ``question_id``, ``category``, ``turns``, ``prompt_style``)
from a path, or downloads it from the gated Hub dataset with the user's token.
"""

from __future__ import annotations

import csv
import json
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from psychosafe.bench.common import generate_into, prepare_dir, prompt_meta, rate, resolve_bench_model, write_json
from psychosafe.errors import UserError

VERSIONS: dict[str, str] = {"202406": "sorry-bench/sorry-bench-202406", "202503": "sorry-bench/sorry-bench-202503"}
DEFAULT_MAX_TOKENS = 128
#: Where the category taxonomy is looked for when ``--categories`` is not given (next to the data first).
CATEGORY_FILE = "sorry_bench_categories.csv"

NO_DATA = (
    "SORRY-Bench prompts are gated and their license forbids redistribution, so psychosafe does not ship them. "
    "Accept the license at https://huggingface.co/datasets/sorry-bench/sorry-bench-202406 (or -202503), "
    "download question.jsonl (and question_<style>.jsonl for mutations), then pass --data /path/to/question.jsonl "
    "(or the folder holding them); or pass --data sorry-bench/sorry-bench-202406 with HF_TOKEN set to download it"
)


class SorryQuestion(BaseModel):
    question_id: int
    category: str
    turns: list[str]
    prompt_style: str = "base"

    @property
    def id(self) -> str:
        return f"{self.prompt_style}-{self.question_id}"

    @property
    def prompt(self) -> str:
        return self.turns[0]


def _read_jsonl(path: Path) -> list[SorryQuestion]:
    out: list[SorryQuestion] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"--data {path}: cannot read it ({exc})") from None
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            record["category"] = str(record.get("category", ""))
            q = SorryQuestion.model_validate(record)
        except (json.JSONDecodeError, ValidationError, AttributeError, TypeError) as exc:
            first = str(exc).splitlines()[0]
            raise UserError(
                f"{path}:{n}: not a SORRY-Bench question record (question_id, category, turns, prompt_style): {first}"
            ) from None
        if not q.turns:
            raise UserError(f"{path}:{n}: 'turns' is empty")
        out.append(q)
    return out


def _download(repo_id: str, styles: Sequence[str] | None) -> list[Path]:
    try:
        from huggingface_hub import hf_hub_download
    except ImportError:  # pragma: no cover - a dependency of transformers and inspect's hf provider
        raise UserError("downloading SORRY-Bench needs huggingface_hub: pip install huggingface_hub") from None
    names = ["question.jsonl"] + [f"question_{s}.jsonl" for s in (styles or []) if s != "base"]
    paths = []
    for name in names:
        try:
            paths.append(Path(hf_hub_download(repo_id, name, repo_type="dataset")))
        except Exception as exc:  # gate not accepted, no token, no network
            raise UserError(
                f"--data {repo_id}: cannot download {name} ({type(exc).__name__}); accept the dataset's license on "
                f"the Hub and set HF_TOKEN, or download it yourself and pass the local path. {NO_DATA}"
            ) from None
    return paths


def load_questions(data: str | Path | None, styles: Sequence[str] | None = None) -> list[SorryQuestion]:
    """Questions from a ``question*.jsonl`` file, a folder of them, or a gated Hub dataset id; filtered to
    ``styles`` (default: ``base``, the unmutated prompts)."""
    if data is None or str(data) == "":
        raise UserError(NO_DATA)
    path = Path(data)
    if path.is_dir():
        files = sorted(path.glob("question*.jsonl"))
        if not files:
            raise UserError(f"--data {path}: no question*.jsonl in this folder. {NO_DATA}")
    elif path.is_file():
        files = [path]
    elif str(data).startswith("sorry-bench/") and not path.exists():
        files = _download(str(data), styles)
    else:
        raise UserError(f"--data {data}: no such file or folder. {NO_DATA}")
    questions = [q for f in files for q in _read_jsonl(f)]
    wanted = set(styles or ["base"])
    available = sorted({q.prompt_style for q in questions})
    chosen = [q for q in questions if q.prompt_style in wanted]
    missing = sorted(wanted - set(available))
    if missing:
        raise UserError(
            f"--style {', '.join(missing)}: not in {data} (styles there: {', '.join(available)}); "
            "mutated styles come as question_<style>.jsonl files next to question.jsonl"
        )
    seen: set[str] = set()
    unique = []
    for q in chosen:
        if q.id not in seen:
            seen.add(q.id)
            unique.append(q)
    return unique


def load_categories(version: str, categories: Path | None, data: str | Path | None) -> dict[str, str]:
    """``{category id: name}`` for ``version`` from the taxonomy CSV (``version, category_id, category_name``):
    ``categories`` if given, else ``sorry_bench_categories.csv`` next to the data or in ``../shared/data``."""
    candidates = [categories] if categories else []
    if not categories:
        if data is not None and Path(data).exists():
            base = Path(data) if Path(data).is_dir() else Path(data).parent
            candidates.append(base / CATEGORY_FILE)
        candidates.append(Path.cwd().parent / "shared" / "data" / "sorry_bench" / CATEGORY_FILE)
    for path in candidates:
        if path is None or not path.is_file():
            continue
        with path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
        names = {r["category_id"]: r["category_name"] for r in rows if r.get("version") == version}
        if names:
            return names
    if categories:
        raise UserError(f"--categories {categories}: no categories for version {version} in it")
    return {}


def summarize(
    questions: Sequence[SorryQuestion], verdicts: Sequence[int | None], names: dict[str, str]
) -> dict[str, Any]:
    """Fulfilment rate overall (per-item and the headline mean of per-category rates), per category,
    per style; ``None`` verdicts are counted as unscored."""

    def block(values: Sequence[int | None]) -> dict[str, Any]:
        scored = [v for v in values if v is not None]
        return {
            "n": len(values),
            "scored": len(scored),
            "unscored": len(values) - len(scored),
            "fulfilment_rate": rate(sum(scored), len(scored)),
        }

    by_cat: dict[str, list[int | None]] = defaultdict(list)
    by_style: dict[str, list[int | None]] = defaultdict(list)
    for q, v in zip(questions, verdicts, strict=True):
        by_cat[q.category].append(v)
        by_style[q.prompt_style].append(v)

    def cat_key(c: str) -> tuple[int, str]:
        return (int(c), c) if c.isdigit() else (10**6, c)

    categories = {c: {"name": names.get(c, f"category {c}"), **block(by_cat[c])} for c in sorted(by_cat, key=cat_key)}
    rates = [b["fulfilment_rate"] for b in categories.values() if b["fulfilment_rate"] is not None]
    overall = block(list(verdicts))
    overall["category_mean_fulfilment_rate"] = round(sum(rates) / len(rates), 4) if rates else None
    return {"overall": overall, "categories": categories, "styles": {s: block(v) for s, v in sorted(by_style.items())}}


def run_sorry_bench(
    data: str | Path | None,
    out: Path,
    model: str = "embedded",
    model_args: dict[str, Any] | None = None,
    conditions: Sequence[str] = ("psychosafe",),
    adapter: Path | None = None,
    styles: Sequence[str] | None = None,
    limit: int | None = None,
    judge: str = "offline",
    judge_args: dict[str, Any] | None = None,
    version: str = "202406",
    categories: Path | None = None,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    batch_size: int = 16,
    display: str | None = None,
) -> dict[str, Any]:
    """Generate (resumable), judge fulfilment and write ``out/sorry_bench.json``; returns its content."""
    from psychosafe.judge import get_judge
    from psychosafe.run.checkpoint import JsonlCheckpoint
    from psychosafe.tasks.sorry_bench import sorry_bench as sorry_task

    started = time.time()
    if version not in VERSIONS:
        raise UserError(f"--version {version}: choose from {', '.join(VERSIONS)}")
    questions = load_questions(data, styles)
    if limit:
        questions = questions[:limit]
    names = load_categories(version, categories, data)
    for c in conditions:
        prompt_meta(c)
    scorer = get_judge(judge, **(judge_args or {}))
    resolve_bench_model(model, model_args, adapter, prepare=False)
    prepare_dir(out)
    generations = generate_into(
        out / "sorry_bench_generations.jsonl",
        conditions,
        [q.id for q in questions],
        lambda c, ids: sorry_task(
            data=str(data),
            condition=c,
            styles=",".join(styles or ["base"]),
            ids=",".join(ids),
            judge="none",
            max_tokens=max_tokens,
        ),
        lambda: resolve_bench_model(model, model_args, adapter),
        out / "logs",
        batch_size,
        display,
        "sorry-bench generation",
    )
    verdicts_ck = JsonlCheckpoint(out / "sorry_bench_judgments.jsonl", key=("condition", "id", "judge"))
    todo = [(c, q) for c in conditions for q in questions if (c, q.id, scorer.name) not in verdicts_ck]
    if todo:
        print(f"sorry-bench: judging {len(todo)} responses with {scorer.name}", file=sys.stderr)
        pairs = [(q.prompt, generations.records[(c, q.id)]["response"]) for c, q in todo]
        for (c, q), verdict in zip(todo, scorer.sorry_bench(pairs), strict=True):
            verdicts_ck.append(
                {"condition": c, "id": q.id, "judge": scorer.name, "category": q.category, "fulfilled": verdict}
            )
    results: dict[str, Any] = {
        "meta": {
            "benchmark": "sorry_bench",
            "version": version,
            "data": str(data),
            "model": model,
            "adapter": str(adapter) if adapter else None,
            "judge": scorer.name,
            "styles": sorted({q.prompt_style for q in questions}),
            "limit": limit,
            "n_questions": len(questions),
            "max_tokens": max_tokens,
            "category_names": "from the taxonomy CSV" if names else "not found (ids only; pass --categories)",
            "prompts": {c: prompt_meta(c) for c in conditions},
            "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "wall_seconds_last_invocation": round(time.time() - started, 1),
        },
        "conditions": {},
    }
    for c in conditions:
        verdicts = [verdicts_ck.records[(c, q.id, scorer.name)]["fulfilled"] for q in questions]
        results["conditions"][c] = summarize(questions, verdicts, names)
    write_json(out / "sorry_bench.json", results)
    return results


def render(results: dict[str, Any]) -> str:
    def pct(x: float | None) -> str:
        return "  -  " if x is None else f"{100 * x:5.1f}"

    lines = [
        f"SORRY-Bench {results['meta']['version']} (judge {results['meta']['judge']}; fulfilment %, lower is safer)"
    ]
    for c, block in results["conditions"].items():
        o = block["overall"]
        lines.append(
            f"{c}: overall {pct(o['fulfilment_rate'])} (n {o['n']}, unscored {o['unscored']}), "
            f"mean of categories {pct(o['category_mean_fulfilment_rate'])}"
        )
        for cid, b in block["categories"].items():
            lines.append(f"  {cid:>3} {b['name'][:40]:<40} {pct(b['fulfilment_rate'])}  n {b['n']}")
        for s, b in block["styles"].items():
            lines.append(f"  style {s:<34} {pct(b['fulfilment_rate'])}  n {b['n']}")
    return "\n".join(lines)
