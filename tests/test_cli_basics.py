from __future__ import annotations

import subprocess
import sys
import textwrap

from psychosafe.prompts import load_prompt


def test_help_does_not_import_torch() -> None:
    code = textwrap.dedent(
        """
        import sys
        from typer.testing import CliRunner
        from psychosafe.cli import app
        r = CliRunner().invoke(app, ["--help"])
        assert r.exit_code == 0, r.output
        assert "run" in r.output
        for heavy in ("torch", "transformers", "inspect_ai"):
            assert heavy not in sys.modules, heavy
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_module_entry_point_prints_version() -> None:
    out = subprocess.run([sys.executable, "-m", "psychosafe", "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("psychosafe 0.")


def test_prompts_show_prints_versioned_text(cli) -> None:
    result = cli("prompts", "show", "psychosafe")
    assert result.exit_code == 0
    prompt = load_prompt("psychosafe")
    assert f"v{prompt.version}" in result.output
    assert prompt.sha256 in result.output
    for technique in (
        "psychological first aid",
        "motivational interviewing",
        "safety planning",
        "de-escalation",
        "harm reduction",
        "trauma-informed care",
        "safe-messaging",
    ):
        assert technique in result.output


def test_prompts_differ_and_list(cli) -> None:
    assert load_prompt("baseline").text != load_prompt("psychosafe").text
    result = cli("prompts", "list")
    assert result.exit_code == 0
    assert "baseline" in result.output and "psychosafe" in result.output


def test_unknown_prompt_is_a_user_error(cli) -> None:
    result = cli("prompts", "show", "nope")
    assert result.exit_code == 2
    assert "baseline" in str(result.exception)


def test_models_prepare_is_idempotent(cli, embedded_dir) -> None:
    weights = embedded_dir / "model.safetensors"
    before = weights.stat().st_mtime_ns
    result = cli("models", "prepare")
    assert result.exit_code == 0
    assert result.output.strip() == str(embedded_dir)
    assert weights.stat().st_mtime_ns == before  # verified by checksum, not rebuilt
    config = (embedded_dir / "config.json").read_text()
    assert "quantization_config" not in config  # a plain dense checkpoint
