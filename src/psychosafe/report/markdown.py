"""``report.md``: the full report in Markdown (plots linked from ``plots/``, responses in code fences)."""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

from psychosafe.report.build import DOMAIN_KEYS, EXTRA_SECTIONS, ReportData, flatten_numbers
from psychosafe.report.plots import CAPTIONS
from psychosafe.report.tables import (
    LABELS,
    markdown_table,
    report_domain_rows,
    report_judge_rows,
    report_main_rows,
    report_rate_rows,
)

CONTENT_WARNING = (
    "Content warning: model responses to prompts about suicide, self-harm, violence, abuse, drug use and eating "
    "disorders. They are shown as the model wrote them (escaped, never rendered)."
)


def fence(text: str, info: str = "text") -> str:
    """A fenced code block that ``text`` cannot close: the fence is longer than any backtick run inside."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{info}\n{text.rstrip()}\n{ticks}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def methods_note(data: ReportData) -> str:
    run = data.run
    test = (
        "Wilcoxon signed-rank test (two-sided, zero differences dropped; p = 1 when every difference is zero)"
        if data.test_method == "wilcoxon"
        else f"paired permutation test of the mean difference ({run.resamples} sign-flip resamples, seeded)"
    )
    note = (
        "Means over risk items with 95% intervals (Wilson for rates, percentile bootstrap for scales). "
        "Relative improvement over `baseline` = (mean_condition - mean_baseline) / mean_baseline with a paired "
        f"bootstrap 95% percentile interval over items ({run.resamples} resamples, seed {run.seed}); `n/a` where the "
        f"baseline mean is 0. p: {test} on the paired item values; p (Holm): Holm-corrected across the "
        f"{len(LABELS)} dimensions of each comparison."
    )
    n_pairs = min((c["n"] for c in data.comparisons.values()), default=None)
    if data.test_method == "wilcoxon" and n_pairs is not None and n_pairs < 6:
        note += f" With {n_pairs} paired items no two-sided Wilcoxon test can reach p < 0.05."
    return note


def _image(data: ReportData, stem: str) -> list[str]:
    if stem not in data.plots:
        return []
    rel = data.plots[stem].relative_to(data.run.run_dir).as_posix()
    return [f"![{CAPTIONS[stem]}]({rel})", "", f"*{CAPTIONS[stem]}*", ""]


def _extra_section(data: ReportData, stem: str, payload: Any) -> list[str]:
    rows = flatten_numbers(payload, limit=80)
    out = [f"## {EXTRA_SECTIONS[stem]}", "", f"From `{stem}.json`.", ""]
    if rows:
        out += [markdown_table(["entry", "value"], [[_cell(" / ".join(p)), f"{v:.4g}"] for p, v in rows]), ""]
    else:
        out += ["(no numbers in the file)", ""]
    return out + _image(data, stem)


def _examples(data: ReportData) -> list[str]:
    if not data.examples:
        return []
    out = ["## Example responses", "", "<details>", f"<summary>{CONTENT_WARNING} Click to show.</summary>", ""]
    for example in data.examples:
        item = example["item"]
        out += [f"### {example['group']}: `{item.id}` ({item.kind}, {item.severity}, {item.intent})", ""]
        conversation = "\n\n".join(f"[{m.role}] {m.content}" for m in item.messages)
        out += ["Prompt:", "", fence(conversation), ""]
        for condition, response in example["responses"].items():
            scores = response["scores"]
            summary = (
                "unscored"
                if scores is None
                else ", ".join(
                    f"{k} {scores[k]:.2f}" if k == "refusal_quality" else f"{k} {scores[k]:.0f}"
                    for k in ("refusal", "harmful_content", "referral", "overall", "refusal_quality")
                )
            )
            out += [f"**{condition}** ({summary}):", "", fence(response["text"]), ""]
    return [*out, "</details>", ""]


def render_report_markdown(data: ReportData) -> str:
    run = data.run
    meta = run.results.get("meta") or {}
    header, rows = report_main_rows(data)
    out = [
        "# psychosafe run report",
        "",
        f"- run: `{run.run_dir.name}`  profile: `{meta.get('profile')}`  model: `{meta.get('model')}`  "
        f"judge: `{run.judge}`",
        f"- rubric: {meta.get('rubric_version')} (hash `{meta.get('rubric_hash')}`); items: "
        f"{(meta.get('items') or {}).get('risk', '?')} risk, {(meta.get('items') or {}).get('benign', '?')} benign",
        "",
        "## Risk items: conditions x rubric dimensions",
        "",
        methods_note(data),
        "",
        markdown_table(header, rows),
        "",
        *_image(data, "dimensions"),
        "## Refusal, referral and over-refusal",
        "",
        "Rates with Wilson 95% intervals. Over-refusal is the refusal rate on benign items (lower is better).",
        "",
        markdown_table(*report_rate_rows(data)),
        "",
        *_image(data, "rates"),
        "## By domain (risk items)",
        "",
    ]
    for key in DOMAIN_KEYS:
        dh, drows = report_domain_rows(data, key)
        title = "Refusal quality by domain" if key == "refusal_quality" else f"{LABELS[key]} by domain"
        out += [f"### {title}", "", markdown_table(dh, drows), ""]
    out += _image(data, "domains")
    for stem, payload in run.extras.items():
        out += _extra_section(data, stem, payload)
    if run.loss_history:
        last = run.loss_history[-1]
        out += [
            "## Fine-tuning",
            "",
            f"Loss history from `{run.loss_source}`: {len(run.loss_history)} entries up to step {last['step']:.0f}.",
            "",
            *_image(data, "loss"),
        ]
    out += _examples(data)
    out += [
        "## Judge",
        "",
        markdown_table(["", ""], [[_cell(k), _cell(v)] for k, v in report_judge_rows(data)]),
        "",
        "## Manifest",
        "",
        fence(json.dumps(run.manifest, indent=2), "json") if run.manifest else "(no manifest.json)",
        "",
        "## Configuration",
        "",
        fence(yaml.safe_dump(run.config, sort_keys=False), "yaml") if run.config else "(no config.yaml)",
        "",
    ]
    return "\n".join(out)
