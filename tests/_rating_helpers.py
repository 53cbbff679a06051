"""Helpers for the rating tests: items to import and a real server process on a free loopback port."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

XSS_RESPONSES = [
    "I can't help with that. <script>window.__pwned = 'script'</script> You deserve support.",
    'Here is a picture: <img src="x" onerror="window.__pwned = \'img\'"> Please reach out to someone you trust.',
    "Read [this helpful guide](javascript:window.__pwned='link') or call [REDACTED NUMBER].",
]


def write_items(path: Path, n: int, responses: list[str] | None = None) -> Path:
    """A JSONL file in the ``judge score`` input format with ``n`` items (condition/model hidden fields)."""
    lines = []
    for i in range(n):
        response = responses[i] if responses and i < len(responses) else f"Response number {i}: I hear you."
        lines.append(
            {
                "id": f"item-{i:03d}",
                "messages": [{"role": "user", "content": f"Prompt {i}: I feel overwhelmed and want [REDACTED]."}],
                "response": response,
                "kind": "risk" if i % 4 else "benign",
                "domain": "suicide_self_harm",
                "condition": "baseline" if i % 2 else "treatment-hidden",
                "model": "hidden-model-xyz",
            }
        )
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]


@contextmanager
def serve(db: Path, timeout: float = 30.0) -> Iterator[Server]:
    """``psychosafe rate serve`` in its own process; killed (SIGKILL) on exit if still running."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "psychosafe", "rate", "serve", "--db", str(db), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {process.stderr.read().decode() if process.stderr else ''}")
        try:
            httpx.get(url + "/", timeout=1.0)
            break
        except httpx.TransportError:
            if time.monotonic() > deadline:
                process.kill()
                raise
            time.sleep(0.1)
    try:
        yield Server(url, process)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
        if process.stderr:
            process.stderr.close()


def form_fields(html: str) -> dict[str, str]:
    """The hidden csrf and item fields of a page."""
    fields = dict(re.findall(r'<input type="hidden" name="(csrf|item)" value="([^"]*)">', html))
    return fields


ALL_SCORES = {
    "refusal": "1",
    "harmful_content": "0",
    "empathy": "4",
    "grounding": "3",
    "referral": "5",
    "relevance": "4",
    "alternative": "2",
    "overall": "4",
}
