from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
def embedded_dir() -> Path:
    """The prepared embedded model (built once, then verified by checksum)."""
    from psychosafe.models.embedded import prepare

    return prepare()


@pytest.fixture()
def cli():
    """Invoke the CLI in-process like the console script does (user errors -> exit 2)."""
    from typer.testing import CliRunner

    from psychosafe.cli import app
    from psychosafe.errors import UserError

    runner = CliRunner()

    def invoke(*args: str):
        result = runner.invoke(app, list(args), catch_exceptions=True)
        if isinstance(result.exception, UserError):
            result.exit_code = 2
        return result

    return invoke
