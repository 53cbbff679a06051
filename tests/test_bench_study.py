"""The outside checks inside the study run: off unless configured, then one section per condition."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from psychosafe.bench.study import run_benchmarks
from psychosafe.run.config import load_config

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def test_profiles_keep_the_checks_off(tmp_path: Path) -> None:
    for profile in ("smoke", "quick"):
        config = load_config(profile)
        assert config.xstest_data is None and config.downstream_tasks == []
        assert run_benchmarks(config, tmp_path) == {}
    assert not list(tmp_path.iterdir())


@pytest.mark.slow
def test_configured_checks_write_per_condition_sections(embedded_dir: Path, tmp_path: Path) -> None:
    config = load_config(
        "smoke",
        overrides={
            "model": "hf/local",
            "model_args": {"model_path": str(embedded_dir), "do_sample": False},
            "conditions": ["baseline", "psychosafe"],
            "max_tokens": 16,
            "xstest_data": str(SHARED_DATA / "xstest" / "xstest_prompts.csv"),
            "xstest_limit": 2,
            "downstream_tasks": ["mmlu"],
            "downstream_data_dir": str(SHARED_DATA),
            "downstream_limit": 2,
        },
    )
    sections = run_benchmarks(config, tmp_path, display="none")
    xstest = json.loads((tmp_path / "xstest.json").read_text())
    assert set(xstest["conditions"]) == {"baseline", "psychosafe"} == set(sections["xstest"])
    assert all(c["safe"]["n"] == 1 and c["unsafe"]["n"] == 1 for c in xstest["conditions"].values())
    downstream = json.loads((tmp_path / "downstream.json").read_text())
    assert {c: t["mmlu"]["n"] for c, t in downstream["conditions"].items()} == {"baseline": 2, "psychosafe": 2}
    assert "delta" in downstream["delta_vs_baseline"]["psychosafe"]["mmlu"]
    again = run_benchmarks(config, tmp_path, display="none")  # resumes: nothing is run twice
    assert again["downstream"]["conditions"] == downstream["conditions"]
