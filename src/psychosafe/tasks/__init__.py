"""Inspect AI tasks of psychosafe (registered through the ``inspect_ai`` entry-point group)."""
