"""Reports of a run directory."""
