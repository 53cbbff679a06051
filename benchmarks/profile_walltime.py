"""Wall time of ``psychosafe run`` for the smoke and quick profiles, against the 10-minute budget.

Each profile runs in a fresh run directory as a subprocess (the real CLI path, model load
included). Prints JSON; ``budget_ratio`` < 1 means within budget.

    .venv/bin/python benchmarks/profile_walltime.py [--profiles smoke,quick]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BUDGET_SECONDS = {"smoke": 180.0, "quick": 600.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--profiles", default="smoke,quick")
    args = parser.parse_args()
    out: dict[str, object] = {"benchmark": "profile_walltime", "profiles": {}}
    for profile in args.profiles.split(","):
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            proc = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "psychosafe",
                    "run",
                    "--profile",
                    profile,
                    "--out",
                    str(Path(tmp) / "run"),
                    "--display",
                    "none",
                ],
                capture_output=True,
                text=True,
            )
            seconds = time.perf_counter() - start
            if proc.returncode != 0:
                raise SystemExit(f"{profile} failed:\n{proc.stderr[-3000:]}")
            results = json.loads((Path(tmp) / "run" / "results.json").read_text())
        items = results["meta"]["items"]
        out["profiles"][profile] = {  # type: ignore[index]
            "seconds": round(seconds, 1),
            "budget_seconds": BUDGET_SECONDS.get(profile),
            "budget_ratio": round(seconds / BUDGET_SECONDS[profile], 3) if profile in BUDGET_SECONDS else None,
            "generations": (items["risk"] + items["benign"]) * len(results["conditions"]),
        }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
