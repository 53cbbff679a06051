"""An English Punkt sentence model for IFEval, built offline.

lm-eval's IFEval checkers count words and sentences with nltk, which needs the ``punkt_tab`` data and downloads it
on import when it is missing (so IFEval fails on a machine without internet). Where nltk cannot find an installed
``punkt_tab/english`` model, psychosafe trains one here with nltk's own unsupervised :class:`PunktTrainer` on the
English text of the shipped corpus (prompts and responses, about a million words) and saves it in the
``punkt_tab`` format under ``$PSYCHOSAFE_CACHE/nltk_data``. Punkt learns abbreviations, collocations and sentence
starters from raw text, so the model splits ordinary English well; it is not byte-identical to nltk's published
model, so IFEval scores can differ slightly from a run with the downloaded data (docs/benchmarks.md).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from psychosafe.models.embedded import cache_root

MODEL = "tokenizers/punkt_tab/english"
#: Abbreviations ordinary English text uses but the corpus may not (Punkt stores them lower-case, no final dot).
_ABBREVIATIONS = (
    "dr mr mrs ms prof st jr sr vs etc e.g i.e a.m p.m inc ltd co corp dept est fig approx no vol "
    "jan feb mar apr jun jul aug sep sept oct nov dec mon tue wed thu fri sat sun u.s u.k"
)
COMMON_ABBREVIATIONS = frozenset(_ABBREVIATIONS.split())


def _installed() -> bool:
    import nltk

    try:
        nltk.data.find(MODEL + "/")
    except LookupError:
        return False
    return True


def _training_text() -> str:
    from psychosafe.corpus.load import load_corpus

    parts: list[str] = []
    for record in load_corpus():
        parts.extend(m.content for m in record.messages)
        parts.append(record.response)
    return "\n\n".join(parts)


def build_punkt(root: Path) -> Path:
    """Train the English model on the shipped corpus and save it as ``root/tokenizers/punkt_tab/english``."""
    import nltk
    from nltk.tokenize.punkt import PunktTrainer, save_punkt_params

    target = root / MODEL
    print(f"building nltk's English Punkt model offline in {target} (IFEval needs it)", file=sys.stderr)
    trainer = PunktTrainer()
    trainer.INCLUDE_ALL_COLLOCS = True
    trainer.train(_training_text(), finalize=True)
    params = trainer.get_params()
    params.abbrev_types.update(COMMON_ABBREVIATIONS)
    target.mkdir(parents=True, exist_ok=True)
    for folder in (target, *target.parents):  # nltk writes only into private folders of a data root
        if folder == root.parent:
            break
        folder.chmod(0o700)
    if str(root) not in nltk.data.path:
        nltk.data.path.insert(0, str(root))
    save_punkt_params(params, dir=str(target))
    return target


def ensure_punkt() -> Path | None:
    """Make nltk find an English ``punkt_tab`` model; returns the data root psychosafe added (``None`` when nltk
    already had one). Idempotent: a model built before is reused."""
    import nltk

    if _installed():
        return None
    root = cache_root() / "nltk_data"
    if not (root / MODEL / "ortho_context.tab").is_file():
        build_punkt(root)
    if str(root) not in nltk.data.path:
        nltk.data.path.insert(0, str(root))
    os.environ["NLTK_DATA"] = os.pathsep.join(p for p in (str(root), os.environ.get("NLTK_DATA")) if p)
    return root
