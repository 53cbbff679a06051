"""Local generation throughput through Inspect's hf provider: batched vs one at a time.

Same prompts, same model, same greedy settings, same process; prints JSON with the ratio.
Goal (issue 2): batching at least 5x faster than one-at-a-time generation.

    .venv/bin/python benchmarks/generation_throughput.py [--n 16] [--max-tokens 96] [--batch 16]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time

from inspect_ai import eval as inspect_eval

from psychosafe.models.spec import resolve_model
from psychosafe.tasks.refusal_quality import refusal_quality


def run(max_connections: int, n: int, max_tokens: int, log_dir: str) -> dict[str, float]:
    model = resolve_model("embedded")
    task = refusal_quality(condition="psychosafe", limit=n, judge="none", max_tokens=max_tokens)
    start = time.perf_counter()
    (log,) = inspect_eval(
        task,
        model=model.inspect_model,
        model_args=model.model_args,
        max_connections=max_connections,
        max_samples=max_connections,
        display="none",
        log_dir=log_dir,
    )
    seconds = time.perf_counter() - start
    assert log.status == "success", log.error
    usage = next(iter(log.stats.model_usage.values()))
    return {
        "batch": max_connections,
        "seconds": round(seconds, 2),
        "output_tokens": usage.output_tokens,
        "tokens_per_second": round(usage.output_tokens / seconds, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=16)
    parser.add_argument("--max-tokens", type=int, default=96)
    parser.add_argument("--batch", type=int, default=16)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as logs:
        run(args.batch, 2, 8, logs)  # warm-up: model load and first-call costs out of the timing
        batched = run(args.batch, args.n, args.max_tokens, logs)
        single = run(1, args.n, args.max_tokens, logs)
    result = {
        "benchmark": "generation_throughput",
        "model": "embedded",
        "dtype": resolve_model("embedded").model_args["dtype"],
        "prompts": args.n,
        "max_tokens": args.max_tokens,
        "batched": batched,
        "one_at_a_time": single,
        "speedup": round(single["seconds"] / batched["seconds"], 2),
        "goal_speedup": 5.0,
    }
    result["meets_goal"] = result["speedup"] >= result["goal_speedup"]
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
