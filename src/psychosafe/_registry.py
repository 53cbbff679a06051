"""Entry point for Inspect AI (``[project.entry-points.inspect_ai]``): registers the tasks."""

from psychosafe.tasks.refusal_quality import refusal_quality

__all__ = ["refusal_quality"]
