"""``psychosafe run``: the study end to end, resumable, into one run directory."""
