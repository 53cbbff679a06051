"""Entry point for Inspect AI (``[project.entry-points.inspect_ai]``): registers the tasks."""

from psychosafe.tasks.refusal_quality import refusal_quality
from psychosafe.tasks.sorry_bench import sorry_bench
from psychosafe.tasks.xstest import xstest

__all__ = ["refusal_quality", "sorry_bench", "xstest"]
