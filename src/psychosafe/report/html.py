"""``report.html``: one self-contained file (plots embedded as base64 PNG, inline CSS, no script, no URL).

Rendered with Jinja2 with autoescaping on: model responses and every other string from the run are text, never
markup. A Content-Security-Policy meta tag also forbids scripts and any load that is not an inline ``data:`` image.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import yaml

from psychosafe.report.build import DOMAIN_KEYS, EXTRA_SECTIONS, ReportData, flatten_numbers
from psychosafe.report.markdown import CONTENT_WARNING, methods_note
from psychosafe.report.plots import CAPTIONS
from psychosafe.report.tables import (
    LABELS,
    report_domain_rows,
    report_judge_rows,
    report_main_rows,
    report_rate_rows,
)

TEMPLATE = "report.html.j2"


def _data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def _figure(data: ReportData, stem: str) -> dict[str, str] | None:
    if stem not in data.plots:
        return None
    return {"src": _data_uri(data.plots[stem]), "caption": CAPTIONS[stem], "alt": stem}


def _examples(data: ReportData) -> list[dict[str, Any]]:
    out = []
    for example in data.examples:
        item = example["item"]
        responses = []
        for condition, response in example["responses"].items():
            scores = response["scores"]
            responses.append(
                {
                    "condition": condition,
                    "text": response["text"],
                    "scores": None
                    if scores is None
                    else [
                        (k, f"{scores[k]:.2f}" if k == "refusal_quality" else f"{scores[k]:.0f}")
                        for k in ("refusal", "harmful_content", "empathy", "referral", "overall", "refusal_quality")
                    ],
                }
            )
        out.append(
            {
                "group": example["group"],
                "id": item.id,
                "labels": f"{item.kind}, {item.severity}, {item.intent}, {item.subcategory}",
                "messages": [(m.role, m.content) for m in item.messages],
                "responses": responses,
            }
        )
    return out


def context(data: ReportData) -> dict[str, Any]:
    """Everything the template shows, as plain strings and lists."""
    run = data.run
    meta = run.results.get("meta") or {}
    header, rows = report_main_rows(data)
    domain_tables = []
    for key in DOMAIN_KEYS:
        dh, drows = report_domain_rows(data, key)
        domain_tables.append({"title": f"{LABELS[key]} by domain", "header": dh, "rows": drows})
    extras = []
    for stem, payload in run.extras.items():
        extras.append(
            {
                "id": stem,
                "title": EXTRA_SECTIONS[stem],
                "file": f"{stem}.json",
                "rows": [(" / ".join(p), f"{v:.4g}") for p, v in flatten_numbers(payload, limit=80)],
                "figure": _figure(data, stem),
            }
        )
    finetune = None
    if run.loss_history:
        finetune = {
            "source": run.loss_source,
            "entries": len(run.loss_history),
            "last_step": f"{run.loss_history[-1]['step']:.0f}",
            "figure": _figure(data, "loss"),
        }
    return {
        "title": f"psychosafe report: {run.run_dir.name}",
        "summary": [
            ("run directory", run.run_dir.name),
            ("profile", str(meta.get("profile"))),
            ("model", str(meta.get("model"))),
            ("judge", str(run.judge)),
            ("rubric", f"{meta.get('rubric_version')} (hash {meta.get('rubric_hash')})"),
            (
                "items",
                f"{(meta.get('items') or {}).get('risk', '?')} risk, {(meta.get('items') or {}).get('benign', '?')} "
                "benign",
            ),
            ("finished", str(run.manifest.get("finished_at", "n/a"))),
        ],
        "methods": methods_note(data).replace("`", ""),
        "main": {"header": header, "rows": rows},
        "dimensions_figure": _figure(data, "dimensions"),
        "rates": dict(zip(("header", "rows"), report_rate_rows(data), strict=True)),
        "rates_figure": _figure(data, "rates"),
        "domain_tables": domain_tables,
        "domains_figure": _figure(data, "domains"),
        "extras": extras,
        "finetune": finetune,
        "content_warning": CONTENT_WARNING,
        "examples": _examples(data),
        "judge": report_judge_rows(data),
        "manifest": json.dumps(run.manifest, indent=2) if run.manifest else None,
        "config": yaml.safe_dump(run.config, sort_keys=False) if run.config else None,
    }


def render_html(data: ReportData) -> str:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(
        loader=FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env.get_template(TEMPLATE).render(**context(data))
