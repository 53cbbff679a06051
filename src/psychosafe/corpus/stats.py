"""``psychosafe corpus stats``: counts by split, domain, subcategory, severity, intent, kind, locale and turns."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from psychosafe.records import CorpusRecord
from psychosafe.taxonomy import DOMAINS, INTENTS, KINDS, SEVERITIES, SPLITS

NO_LOCALE = "none"


def _ordered(counts: Counter[str], order: Iterable[str]) -> dict[str, int]:
    """Counts in the taxonomy's order (every known value, 0 included), then any other value sorted."""
    known = list(order)
    return {**{k: counts[k] for k in known}, **{k: counts[k] for k in sorted(counts) if k not in known}}


def user_turns(record: CorpusRecord) -> int:
    return sum(m.role == "user" for m in record.messages)


def corpus_stats(records: Sequence[CorpusRecord]) -> dict[str, Any]:
    """Every count as plain JSON. ``multi_turn`` counts items with more than one user turn."""
    total = len(records)
    multi = sum(user_turns(r) > 1 for r in records)
    validation = [r for r in records if r.split == "validation"]
    by_domain_kind = {
        domain: _ordered(Counter(r.kind for r in records if r.domain == domain), KINDS) for domain in DOMAINS
    }
    return {
        "total": total,
        "by_split": _ordered(Counter(r.split for r in records), SPLITS),
        "by_domain": _ordered(Counter(r.domain for r in records), DOMAINS),
        "by_kind": _ordered(Counter(r.kind for r in records), KINDS),
        "multi_turn": {"count": multi, "share": round(multi / total, 4) if total else 0.0},
        "locales": dict(sorted(Counter(r.locale or NO_LOCALE for r in records).items())),
        "by_split_kind": {
            split: _ordered(Counter(r.kind for r in records if r.split == split), KINDS) for split in SPLITS
        },
        "by_domain_kind": by_domain_kind,
        "validation_risk_by_domain": _ordered(Counter(r.domain for r in validation if r.kind == "risk"), DOMAINS),
        "by_subcategory": {
            domain: dict(sorted(Counter(r.subcategory for r in records if r.domain == domain).items()))
            for domain in DOMAINS
        },
        "by_severity": _ordered(Counter(r.severity for r in records), SEVERITIES),
        "by_intent": _ordered(Counter(r.intent for r in records), INTENTS),
        "turns": {str(k): v for k, v in sorted(Counter(user_turns(r) for r in records).items())},
        "by_source": dict(sorted(Counter(r.source.split(":")[0] for r in records).items())),
    }


def _table(title: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[str]:
    lines = [f"### {title}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return [*lines, ""]


def render_markdown(stats: dict[str, Any]) -> str:
    """The counts as Markdown tables (the dataset card pastes this output)."""
    total = stats["total"] or 1
    lines = [
        f"**{stats['total']} pairs**: {stats['by_kind']['risk']} risk, {stats['by_kind']['benign']} benign; "
        f"{stats['multi_turn']['count']} multi-turn ({stats['multi_turn']['share']:.1%}); "
        f"{sum(1 for k in stats['locales'] if k != NO_LOCALE)} locales.",
        "",
    ]
    rows = []
    for domain in stats["by_domain_kind"]:
        kinds = stats["by_domain_kind"][domain]
        rows.append(
            [
                domain,
                kinds["risk"],
                kinds["benign"],
                stats["validation_risk_by_domain"].get(domain, 0),
                sum(kinds.values()),
            ]
        )
    rows.append(["**all**", stats["by_kind"]["risk"], stats["by_kind"]["benign"],
                 sum(stats["validation_risk_by_domain"].values()), stats["total"]])  # fmt: skip
    lines += _table("By domain", ["domain", "risk", "benign", "validation risk", "total"], rows)
    lines += _table(
        "By split",
        ["split", "risk", "benign", "total"],
        [[s, k["risk"], k["benign"], sum(k.values())] for s, k in stats["by_split_kind"].items()],
    )
    lines += _table(
        "By severity",
        ["severity", "pairs", "share"],
        [[k, v, f"{v / total:.1%}"] for k, v in stats["by_severity"].items()],
    )
    lines += _table(
        "By intent", ["intent", "pairs", "share"], [[k, v, f"{v / total:.1%}"] for k, v in stats["by_intent"].items()]
    )
    lines += _table(
        "By subcategory",
        ["domain", "subcategory", "pairs"],
        [[d, s, n] for d, subs in stats["by_subcategory"].items() for s, n in subs.items()],
    )
    lines += _table("By locale", ["locale", "pairs"], list(stats["locales"].items()))
    lines += _table("By number of user turns", ["user turns", "pairs"], list(stats["turns"].items()))
    lines += _table("By source", ["source", "pairs"], list(stats["by_source"].items()))
    return "\n".join(lines).rstrip() + "\n"
