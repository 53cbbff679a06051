"""The outside checks inside the study run: off unless configured, then one section per condition."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from psychosafe.bench.study import resolve_data, run_benchmarks
from psychosafe.run.config import load_config

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def test_smoke_keeps_the_checks_off(tmp_path: Path) -> None:
    config = load_config("smoke")
    assert config.xstest_data is None and config.downstream_tasks == []
    assert run_benchmarks(config, tmp_path) == {}
    assert not list(tmp_path.iterdir())


def test_profile_data_folder_resolves_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for profile in ("quick", "paper"):
        config = load_config(profile)
        assert config.xstest_data and "${PSYCHOSAFE_DATA}" in config.xstest_data and config.downstream_tasks
    monkeypatch.setenv("PSYCHOSAFE_DATA", str(SHARED_DATA))
    assert resolve_data(load_config("quick").xstest_data or "") == str(SHARED_DATA / "xstest" / "xstest_prompts.csv")
    monkeypatch.delenv("PSYCHOSAFE_DATA")
    assert resolve_data("${PSYCHOSAFE_DATA}/x.csv") == "../shared/data/x.csv"


def test_missing_data_folder_skips_the_sections_with_a_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PSYCHOSAFE_DATA", str(tmp_path / "nowhere"))
    sections = run_benchmarks(load_config("quick"), tmp_path / "run")
    assert set(sections) == {"xstest", "downstream"}
    assert "xstest_prompts.csv not found" in sections["xstest"]["skipped"]
    assert "set PSYCHOSAFE_DATA" in sections["downstream"]["skipped"]
    assert "section skipped" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()  # nothing written for a skipped section


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
