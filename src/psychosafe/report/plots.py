"""The report's plots (matplotlib, Agg, no pyplot state): PNG files under ``RUN_DIR/plots/``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from psychosafe.report.build import ReportData, flatten_numbers
from psychosafe.report.tables import LABELS

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: Plot file stem -> caption.
CAPTIONS: dict[str, str] = {
    "dimensions": "Rubric dimensions per condition on risk items (mean with 95% interval: Wilson for rates, "
    "percentile bootstrap for scales).",
    "rates": "Refusal and referral rates on risk items, harmful content, and over-refusal on benign items "
    "(Wilson 95% intervals).",
    "domains": "Per-domain means on risk items (domains x conditions).",
    "xstest": "XSTest rates (from xstest.json).",
    "sorry_bench": "SORRY-Bench rates (from sorry_bench.json).",
    "downstream": "Downstream ability (from downstream.json): differences from baseline where the file holds a "
    "baseline, otherwise the metrics.",
    "loss": "Fine-tuning loss per step (Transformers log history under finetune/).",
    "agreement": "Judge-human agreement (from agreement.json).",
}
RATE_KEYS = ("refusal", "harmful_content", "referral_rate", "refusal_quality")
SCALE_KEYS = ("empathy", "grounding", "referral", "relevance", "alternative", "overall")
PALETTE = ("#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#da8bc3", "#8c8c8c")


def _figure(width: float, height: float) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=110, layout="constrained")


def _save(fig: Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", metadata={"Software": None})
    return path


def _errors(entries: list[dict[str, Any]], value: str) -> list[list[float]]:
    low, high = [], []
    for e in entries:
        v = e.get(value)
        lo, hi = e.get("ci_low"), e.get("ci_high")
        low.append(0.0 if v is None or lo is None else max(0.0, v - lo))
        high.append(0.0 if v is None or hi is None else max(0.0, hi - v))
    return [low, high]


def _grouped_bars(
    ax: Any, keys: tuple[str, ...], conditions: list[str], entries: dict[str, dict[str, Any]], value: str
):
    import numpy as np

    width = 0.8 / max(1, len(conditions))
    x = np.arange(len(keys))
    for j, c in enumerate(conditions):
        es = [entries[c].get(k, {}) for k in keys]
        heights = [e.get(value) or 0.0 for e in es]
        ax.bar(
            x + (j - (len(conditions) - 1) / 2) * width,
            heights,
            width,
            yerr=_errors(es, value),
            capsize=3,
            label=c,
            color=PALETTE[j % len(PALETTE)],
        )
    ax.set_xticks(x, [LABELS.get(k, k).replace(" (", "\n(") for k in keys], fontsize=8)
    ax.grid(axis="y", alpha=0.3)


def plot_dimensions(data: ReportData, path: Path) -> Path:
    fig = _figure(11, 4)
    left, right = fig.subplots(1, 2, width_ratios=[len(RATE_KEYS), len(SCALE_KEYS)])
    _grouped_bars(left, RATE_KEYS, data.run.conditions, data.describe, "mean")
    left.set_ylim(0, 1.05)
    left.set_title("rates and refusal quality (0-1)", fontsize=10)
    _grouped_bars(right, SCALE_KEYS, data.run.conditions, data.describe, "mean")
    right.set_ylim(1, 5.2)
    right.set_title("rubric scales (1-5)", fontsize=10)
    right.legend(fontsize=8, loc="upper right")
    return _save(fig, path)


def plot_rates(data: ReportData, path: Path) -> Path:
    keys = ("refusal", "referral", "harmful_content", "over_refusal")
    labels = {
        "refusal": "refusal (risk)",
        "referral": "referral >= 4 (risk)",
        "harmful_content": "harmful content (risk)",
        "over_refusal": "over-refusal (benign)",
    }
    fig = _figure(7.5, 3.6)
    ax = fig.subplots()
    import numpy as np

    conditions = data.run.conditions
    width = 0.8 / max(1, len(conditions))
    x = np.arange(len(keys))
    for j, c in enumerate(conditions):
        es = [data.rates[c][k] for k in keys]
        ax.bar(
            x + (j - (len(conditions) - 1) / 2) * width,
            [e["rate"] or 0.0 for e in es],
            width,
            yerr=_errors(es, "rate"),
            capsize=3,
            label=c,
            color=PALETTE[j % len(PALETTE)],
        )
    ax.set_xticks(x, [labels[k] for k in keys], fontsize=8)
    ax.set_ylim(0, 1.05)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, path)


def plot_domains(data: ReportData, path: Path) -> Path | None:
    import numpy as np

    domains = list(data.domains)
    conditions = data.run.conditions
    if not domains:
        return None
    panels = (("refusal_quality", 0.0, 1.0), ("referral_rate", 0.0, 1.0), ("overall", 1.0, 5.0))
    fig = _figure(4.2 * len(panels), 0.5 * len(domains) + 1.6)
    axes = fig.subplots(1, len(panels))
    for ax, (key, vmin, vmax) in zip(axes, panels, strict=True):
        grid = np.array(
            [
                [np.nan if data.domains[d].get(c, {}).get(key) is None else data.domains[d][c][key] for c in conditions]
                for d in domains
            ],
            dtype=float,
        )
        image = ax.imshow(grid, cmap="viridis", vmin=vmin, vmax=vmax, aspect="auto")
        for i in range(len(domains)):
            for j in range(len(conditions)):
                value = grid[i, j]
                text = "n/a" if np.isnan(value) else f"{value:.2f}"
                light = np.isnan(value) or value < vmin + 0.6 * (vmax - vmin)
                ax.text(j, i, text, ha="center", va="center", fontsize=8, color="white" if light else "black")
        ax.set_xticks(range(len(conditions)), conditions, fontsize=8)
        ax.set_yticks(range(len(domains)), domains if ax is axes[0] else [""] * len(domains), fontsize=8)
        ax.set_title(LABELS.get(key, key), fontsize=10)
        fig.colorbar(image, ax=ax, shrink=0.8)
    return _save(fig, path)


def _label(path: tuple[str, ...]) -> str:
    text = " / ".join(path)
    return text if len(text) <= 60 else "..." + text[-57:]


#: A numeric leaf of an optional section: (label path, value, interval low, interval high).
Leaf = tuple[tuple[str, ...], float, float | None, float | None]
_BOUNDS = ("ci_low", "ci_high", "low", "high", "lower", "upper")


def leaves(data: Any) -> list[Leaf]:
    """Numeric leaves of an optional section; ``{"value": v, "ci_low": l, "ci_high": h}`` becomes one leaf
    labelled by its parent with its interval, and interval bounds are not leaves of their own."""
    flat = dict(flatten_numbers(data))
    out: list[Leaf] = []
    for path, value in flat.items():
        if not path or path[-1].lower() in _BOUNDS:
            continue
        parent = path[:-1]
        label = parent if path[-1] == "value" and parent else path
        low = flat.get((*parent, "ci_low")) if path[-1] == "value" else None
        high = flat.get((*parent, "ci_high")) if path[-1] == "value" else None
        out.append((label, value, low, high))
    return out


def plot_leaves(rows: list[Leaf], title: str, path: Path, limit: int = 40) -> Path | None:
    """Horizontal bars of numeric leaves (shallowest first, with intervals where given)."""
    if not rows:
        return None
    rows = sorted(rows, key=lambda r: len(r[0]))[:limit]
    fig = _figure(8, 0.28 * len(rows) + 1.2)
    ax = fig.subplots()
    errors = _errors([{"v": v, "ci_low": lo, "ci_high": hi} for _, v, lo, hi in rows], "v")
    has_errors = any(lo is not None for _, _, lo, _ in rows)
    ax.barh(
        range(len(rows)),
        [v for _, v, _, _ in rows],
        xerr=errors if has_errors else None,
        capsize=3,
        color=PALETTE[0],
    )
    ax.set_yticks(range(len(rows)), [_label(p) for p, *_ in rows], fontsize=7)
    ax.invert_yaxis()
    ax.axvline(0, color="black", linewidth=0.6)
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(title, fontsize=10)
    return _save(fig, path)


def rate_leaves(data: Any) -> list[Leaf]:
    return [leaf for leaf in leaves(data) if leaf[0] and "rate" in leaf[0][-1].lower()]


_NOT_METRIC = ("stderr", "n", "limit", "samples", "n_samples", "count", "seconds", "wall_s", "step")


def _is_metric(path: tuple[str, ...]) -> bool:
    last = path[-1].lower() if path else ""
    return bool(path) and "stderr" not in last and not any(last == s or last.startswith(s + ",") for s in _NOT_METRIC)


def downstream_leaves(data: Any) -> tuple[list[Leaf], bool]:
    """Deltas from baseline when the file holds one per condition, else the metrics. Returns (rows, is_delta)."""

    def metrics(node: Any) -> list[Leaf]:
        return [leaf for leaf in leaves(node) if _is_metric(leaf[0])]

    if isinstance(data, dict):
        for key in ("deltas", "delta"):
            if isinstance(data.get(key), dict | list):
                return metrics(data[key]), True
        if isinstance(data.get("baseline"), dict):
            base = {p: v for p, v, _, _ in metrics(data["baseline"])}
            rows: list[Leaf] = []
            for c, node in data.items():
                if c == "baseline" or not isinstance(node, dict):
                    continue
                rows += [((c, *p), v - base[p], None, None) for p, v, _, _ in metrics(node) if p in base]
            if rows:
                return rows, True
    return metrics(data), False


_AGREEMENT = ("alpha", "kappa", "spearman", "pearson", "rho", "icc", "agreement", "accuracy")


def agreement_leaves(data: Any) -> list[Leaf]:
    skip = ("p", "p_value", "pvalue", "n", "se", "stderr")
    return [
        leaf
        for leaf in leaves(data)
        if leaf[0]
        and any(a in leaf[0][-1].lower() for a in _AGREEMENT)
        and leaf[0][-1].lower() not in skip
        and not any(leaf[0][-1].lower().endswith("_" + s) for s in skip)
    ]


def plot_loss(history: list[dict[str, float]], path: Path) -> Path | None:
    train = [(h["step"], h["loss"]) for h in history if "loss" in h]
    evals = [(h["step"], h["eval_loss"]) for h in history if "eval_loss" in h]
    if not train and not evals:
        return None
    fig = _figure(6.5, 3.4)
    ax = fig.subplots()
    if train:
        ax.plot(*zip(*train, strict=True), marker=".", label="train loss", color=PALETTE[0])
    if evals:
        ax.plot(*zip(*evals, strict=True), marker="o", label="eval loss", color=PALETTE[1])
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, path)


def make_plots(data: ReportData, out: Path) -> dict[str, Path]:
    """Draw every plot that the run has data for; return {stem: path}."""
    plots: dict[str, Path | None] = {
        "dimensions": plot_dimensions(data, out / "dimensions.png"),
        "rates": plot_rates(data, out / "rates.png"),
        "domains": plot_domains(data, out / "domains.png"),
    }
    extras = data.run.extras
    if "xstest" in extras:
        plots["xstest"] = plot_leaves(rate_leaves(extras["xstest"]), "XSTest", out / "xstest.png")
    if "sorry_bench" in extras:
        plots["sorry_bench"] = plot_leaves(rate_leaves(extras["sorry_bench"]), "SORRY-Bench", out / "sorry_bench.png")
    if "downstream" in extras:
        rows, delta = downstream_leaves(extras["downstream"])
        title = "downstream: difference from baseline" if delta else "downstream metrics"
        plots["downstream"] = plot_leaves(rows, title, out / "downstream.png")
    if data.run.loss_history:
        plots["loss"] = plot_loss(data.run.loss_history, out / "loss.png")
    if "agreement" in extras:
        plots["agreement"] = plot_leaves(agreement_leaves(extras["agreement"]), "agreement", out / "agreement.png")
    return {k: v for k, v in plots.items() if v is not None}
