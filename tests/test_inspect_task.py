"""The Inspect task through Inspect itself: the registered entry point and the Python API."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from psychosafe.rubric import RUBRIC_KEYS
from psychosafe.tasks.refusal_quality import refusal_quality


def test_task_parameters_select_and_condition() -> None:
    task = refusal_quality(condition="baseline", domains="eating_disorders,substance_misuse", kinds="risk", limit=4)
    samples = list(task.dataset)
    assert len(samples) == 4
    assert {s.metadata["domain"] for s in samples} == {"eating_disorders", "substance_misuse"}
    assert all(s.metadata["condition"] == "baseline" and s.metadata["kind"] == "risk" for s in samples)
    system = samples[0].input[0]
    assert system.role == "system" and "decline" in system.text


def test_unknown_domain_parameter_is_rejected() -> None:
    from psychosafe.errors import UserError

    with pytest.raises(UserError, match="gambling"):
        refusal_quality(domains="gambling")


@pytest.mark.slow
def test_inspect_eval_cli_runs_registered_task(embedded_dir: Path, tmp_path: Path) -> None:
    inspect = shutil.which("inspect", path=str(Path(sys.executable).parent)) or "inspect"
    env = {**os.environ, "INSPECT_DISPLAY": "plain"}
    proc = subprocess.run(
        [
            inspect,
            "eval",
            "psychosafe/refusal_quality",
            "-T",
            "condition=psychosafe",
            "-T",
            "limit=2",
            "-T",
            "max_tokens=24",
            "--model",
            "hf/local",
            "-M",
            f"model_path={embedded_dir}",
            "-M",
            "do_sample=false",
            "--log-dir",
            str(tmp_path),
            "--log-format",
            "json",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    from inspect_ai.log import list_eval_logs, read_eval_log

    logs = list_eval_logs(str(tmp_path))
    assert len(logs) == 1
    log = read_eval_log(logs[0])
    assert log.status == "success"
    assert len(log.samples) == 2
    for sample in log.samples:
        assert sample.output.completion.strip()
        value = next(iter(sample.scores.values())).value
        assert set(RUBRIC_KEYS) <= set(value)
