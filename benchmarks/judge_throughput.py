"""Offline judge throughput: responses judged per second, against the 100/s goal (issue 4).

Judges every XSTest human-labelled completion in ../shared/data plus the corpus reference responses, several
times over, with the judge (and its embedding model, when enabled) loaded once before timing. Prints JSON.
The baseline in the same run is the bare refusal detector (XSTest mode) on the same responses, so the ratio
shows what the full rubric costs on top of it.

    .venv/bin/python benchmarks/judge_throughput.py [--repeat 3] [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from pathlib import Path

from psychosafe.corpus import load_corpus
from psychosafe.judge.offline import OfflineJudge
from psychosafe.records import JudgeInput, Message

ROOT = Path(__file__).resolve().parents[1]


def items(data: Path) -> list[JudgeInput]:
    out = [
        JudgeInput(id=r.id, messages=r.messages, response=r.response, kind=r.kind, domain=r.domain, locale=r.locale)
        for r in load_corpus()
    ]
    for path in sorted((data / "xstest" / "model_completions").glob("*.csv")):
        with path.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                out.append(
                    JudgeInput(
                        id=f"{path.stem}:{row['id']}",
                        messages=[Message(role="user", content=row["prompt"])],
                        response=row["completion"] or " ",
                        kind="benign" if not row["type"].startswith("contrast_") else "risk",
                    )
                )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    args = parser.parse_args()
    batch = items(args.data) * args.repeat
    judge = OfflineJudge()
    judge.score(batch[:10])  # warm-up: compiled patterns, resource table, embedding model if any
    start = time.perf_counter()
    verdicts = judge.score(batch)
    full = time.perf_counter() - start
    start = time.perf_counter()
    judge.xstest([(i.messages[-1].content, i.response) for i in batch])
    detector = time.perf_counter() - start
    assert len(verdicts) == len(batch)
    rate = len(batch) / full
    print(
        json.dumps(
            {
                "benchmark": "judge_throughput",
                "judge": judge.name,
                "responses": len(batch),
                "seconds": round(full, 3),
                "responses_per_second": round(rate, 1),
                "baseline_refusal_detector_per_second": round(len(batch) / detector, 1),
                "full_rubric_vs_detector_ratio": round(detector / full, 3),
                "goal_responses_per_second": 100,
                "meets_goal": rate >= 100,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
