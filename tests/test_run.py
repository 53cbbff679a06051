"""``psychosafe run`` end to end on the embedded model, and resume after a kill."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from psychosafe.run.results import REPORT_KEYS


def check_results(results: dict, conditions=("baseline", "psychosafe")) -> None:
    assert set(results["conditions"]) == set(conditions)
    for c in conditions:
        entry = results["conditions"][c]
        assert entry["n"] == 5
        assert set(entry["scores"]) == set(REPORT_KEYS)
        for key, value in entry["scores"].items():
            assert value is not None, key
            assert (
                (0 <= value <= 1)
                if key in ("refusal", "harmful_content", "refusal_quality", "referral_rate")
                else (1 <= value <= 5)
            ), (key, value)
        assert set(entry["by_domain"]) == {
            "suicide_self_harm",
            "violence_escalation",
            "abuse_coercion",
            "substance_misuse",
            "eating_disorders",
        }
        assert entry["over_refusal"]["n"] == 2
    rel = results["relative_improvement"]["psychosafe"]
    assert set(rel) == set(REPORT_KEYS)
    for entry in rel.values():
        assert set(entry) == {"value", "ci_low", "ci_high", "n"}
        if entry["value"] is not None and entry["ci_low"] is not None:
            assert entry["ci_low"] <= entry["value"] + 1e-9 <= entry["ci_high"] + 2e-9


@pytest.mark.slow
def test_smoke_run_end_to_end_and_rerun_is_free(cli, embedded_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = cli("run", "--profile", "smoke", "--out", str(out), "--display", "none")
    assert result.exit_code == 0, result.output
    results = json.loads((out / "results.json").read_text())
    check_results(results)
    for name in ("config.yaml", "manifest.json", "report.md", "generations.jsonl", "judgments.jsonl"):
        assert (out / name).is_file(), name
    assert list((out / "logs").iterdir())
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["rubric_hash"] == results["meta"]["rubric_hash"]
    assert "baseline" in result.output and "psychosafe" in result.output
    assert "| refusal quality (0-1) |" in (out / "report.md").read_text()
    generations = (out / "generations.jsonl").read_text()
    assert len(generations.splitlines()) == 14
    # same command again: nothing generated again, same numbers
    again = cli("run", "--profile", "smoke", "--out", str(out), "--display", "none")
    assert again.exit_code == 0, again.output
    assert (out / "generations.jsonl").read_text() == generations
    assert json.loads((out / "results.json").read_text())["conditions"] == results["conditions"]


def _start_and_stop(cmd: list[str], gens: Path, at_least: int, sig: signal.Signals) -> subprocess.Popen[str]:
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.time() + 300
    while time.time() < deadline and (not gens.exists() or len(gens.read_text().splitlines()) < at_least):
        assert proc.poll() is None, proc.communicate()[1][-3000:]
        time.sleep(0.2)
    os.killpg(proc.pid, sig)
    proc.wait(timeout=120)
    return proc


@pytest.mark.slow
def test_ctrl_c_then_kill_then_resume_loses_nothing(embedded_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    cfg = tmp_path / "small-batches.yaml"
    cfg.write_text("profile: smoke\nbatch_size: 2\nmax_tokens: 48\n")
    cmd = [sys.executable, "-m", "psychosafe", "run", "--config", str(cfg), "--out", str(out), "--display", "none"]
    gens = out / "generations.jsonl"

    # Ctrl-C: a clean stop that says how to resume
    interrupted = _start_and_stop(cmd, gens, 2, signal.SIGINT)
    assert interrupted.returncode == 130, interrupted.stderr.read()[-3000:]  # type: ignore[union-attr]
    assert "run the same command" in interrupted.stderr.read()  # type: ignore[union-attr]
    first = gens.read_text().splitlines()
    assert 2 <= len(first) < 14

    # a kill -9 in the middle of the next attempt
    _start_and_stop(cmd, gens, len(first) + 2, signal.SIGKILL)
    before = gens.read_text().splitlines()
    assert before[: len(first)] == first
    assert len(first) + 2 <= len(before) < 14, len(before)
    assert not (out / "results.json").exists()

    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"{len(before)} of 14 responses already done" in done.stderr
    after = gens.read_text().splitlines()
    assert after[: len(before)] == before  # nothing already finished was lost or redone
    keys = [(json.loads(x)["condition"], json.loads(x)["id"]) for x in after]
    assert len(keys) == len(set(keys)) == 14
    check_results(json.loads((out / "results.json").read_text()))


def test_out_dir_of_other_settings_is_refused(cli, tmp_path: Path) -> None:
    out = tmp_path / "run"
    out.mkdir()
    (out / "config.yaml").write_text("model: embedded\nmax_tokens: 999\nseed: 0\nsplit: validation\n")
    result = cli("run", "--profile", "smoke", "--out", str(out))
    assert result.exit_code == 2
    assert "max_tokens" in str(result.exception)
