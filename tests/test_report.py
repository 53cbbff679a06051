"""The report and ``psychosafe compare`` from one real ``smoke`` run; the HTML in headless Chromium."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from scipy import stats
from typer.testing import CliRunner

from psychosafe.errors import UserError
from psychosafe.judge.offline import OfflineJudge
from psychosafe.run.results import REPORT_KEYS

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PAYLOAD = (
    "\n```\n</details></pre><script>window.__pwned = 1</script>"
    '<img src="x" onerror="window.__pwned = 2">[link](javascript:alert(1))'
)
REFERRAL = (
    " If you are in danger right now, call 911. You can call or text 988 (988 Suicide & Crisis Lifeline) "
    "any time to talk with a trained counselor."
)


def invoke(*args: str):
    from psychosafe.cli import app

    result = CliRunner().invoke(app, list(args), catch_exceptions=True)
    if isinstance(result.exception, UserError):
        result.exit_code = 2
    return result


def _rewrite_jsonl(path: Path, change) -> None:
    lines = [json.loads(x) for x in path.read_text().splitlines() if x.strip()]
    path.write_text("".join(json.dumps(change(r)) + "\n" for r in lines))


def _copy_run(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("logs"))
    return dst


@pytest.fixture(scope="module")
def smoke_run(embedded_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real smoke run (embedded model, offline judge); `psychosafe run` writes the report itself."""
    out = tmp_path_factory.mktemp("report") / "smoke"
    result = invoke("run", "--profile", "smoke", "--out", str(out), "--display", "none")
    assert result.exit_code == 0, result.output
    return out


@pytest.mark.slow
def test_run_writes_the_report_and_its_numbers_match_results(smoke_run: Path) -> None:
    from psychosafe.report.build import compute, load_run

    for name in ("report.md", "report.html", "plots/dimensions.png", "plots/domains.png", "plots/rates.png"):
        assert (smoke_run / name).is_file(), name
        assert (smoke_run / name).stat().st_size > 1000, name
    md = (smoke_run / "report.md").read_text()
    assert "| refusal quality (0-1) |" in md
    assert "psychosafe vs baseline (95% CI) | p (Wilcoxon) | p (Holm) |" in md
    assert "![" in md and "](plots/dimensions.png)" in md
    manifest = json.loads((smoke_run / "manifest.json").read_text())
    assert manifest["rubric_hash"] in md and manifest["items_hash"] in md  # judge details and the manifest

    results = json.loads((smoke_run / "results.json").read_text())
    data = compute(load_run(smoke_run))
    for condition in ("baseline", "psychosafe"):
        for key in REPORT_KEYS:
            entry = data.describe[condition][key]
            assert entry["mean"] == pytest.approx(results["conditions"][condition]["scores"][key], abs=1e-4)
            if entry["ci_low"] is not None:
                assert entry["ci_low"] - 1e-9 <= entry["mean"] <= entry["ci_high"] + 1e-9
        over = results["conditions"][condition]["over_refusal"]
        assert data.rates[condition]["over_refusal"]["rate"] == over["rate"]
        assert data.rates[condition]["over_refusal"]["n"] == over["n"] == 2
    comparison = data.comparisons["psychosafe"]
    assert comparison["n"] == 5
    for key in REPORT_KEYS:
        entry = comparison["keys"][key]
        # the same paired bootstrap as results.json (same items, resamples and seed)
        assert entry["relative"] == results["relative_improvement"]["psychosafe"][key]
        assert entry["test"]["p_value"] is not None and 0 <= entry["test"]["p_value"] <= 1
        assert entry["p_holm"] >= entry["test"]["p_value"] - 1e-12
    assert set(data.domains) == {
        "suicide_self_harm",
        "violence_escalation",
        "abuse_coercion",
        "substance_misuse",
        "eating_disorders",
    }
    groups = [e["group"] for e in data.examples]
    assert groups[-1] == "benign" and len(groups) == 6


def _add_optional_sections(run: Path) -> None:
    (run / "xstest.json").write_text(
        json.dumps(
            {
                "baseline": {"safe": {"refusal_rate": 0.2, "n": 10}, "unsafe": {"refusal_rate": 0.7, "n": 10}},
                "psychosafe": {"safe": {"refusal_rate": 0.3, "n": 10}, "unsafe": {"refusal_rate": 0.9, "n": 10}},
            }
        )
    )
    (run / "downstream.json").write_text(
        json.dumps({"baseline": {"mmlu": {"acc": 0.31, "stderr": 0.02}}, "psychosafe": {"mmlu": {"acc": 0.30}}})
    )
    (run / "agreement.json").write_text(
        json.dumps(
            {
                "offline-v1": {
                    "refusal": {"kappa": {"value": 0.61, "ci_low": 0.4, "ci_high": 0.8}, "n": 40},
                    "overall": {"spearman": 0.44},
                }
            }
        )
    )
    state = run / "finetune" / "adapter" / "checkpoint-6"
    state.mkdir(parents=True)
    history = [{"step": s, "loss": 2.0 / s, "epoch": s / 6} for s in range(1, 7)] + [{"step": 6, "eval_loss": 0.5}]
    (state / "trainer_state.json").write_text(json.dumps({"global_step": 6, "log_history": history}))


def test_optional_section_readers_are_generic() -> None:
    from psychosafe.report.markdown import fence
    from psychosafe.report.plots import agreement_leaves, downstream_leaves, rate_leaves

    xs = {
        "safe": {"full_refusal_rate": 0.1, "refusal_rate": 0.2, "n": 250, "by_type": {"homonyms": {"refusal_rate": 0}}}
    }
    assert {(p, v) for p, v, _, _ in rate_leaves(xs)} == {
        (("safe", "full_refusal_rate"), 0.1),
        (("safe", "refusal_rate"), 0.2),
        (("safe", "by_type", "homonyms", "refusal_rate"), 0.0),
    }
    rows, delta = downstream_leaves(
        {"baseline": {"mmlu": {"acc": 0.3, "acc_stderr": 0.01, "n": 100}}, "psychosafe": {"mmlu": {"acc": 0.25}}}
    )
    assert delta and [(p, round(v, 6)) for p, v, _, _ in rows] == [(("psychosafe", "mmlu", "acc"), -0.05)]
    rows, delta = downstream_leaves({"mmlu": {"acc,none": 0.3, "acc_stderr,none": 0.01}, "n": 5})
    assert not delta and [(p, v) for p, v, _, _ in rows] == [(("mmlu", "acc,none"), 0.3)]
    agreement = {"judge": {"empathy": {"quadratic_kappa": {"value": 0.5, "ci_low": 0.2, "ci_high": 0.7, "n": 9}}}}
    assert agreement_leaves(agreement) == [(("judge", "empathy", "quadratic_kappa"), 0.5, 0.2, 0.7)]
    text = "a ```` b\n```\nc"
    block = fence(text)
    assert block.startswith("`````text\n") and block.endswith("\n`````")


def _fences_hold(md: str, needle: str) -> bool:
    """Every line holding ``needle`` is inside a fenced code block."""
    fence: str | None = None
    for line in md.splitlines():
        match = re.match(r"^(`{3,})", line)
        if fence is None and match:
            fence = match.group(1)
        elif fence is not None and line.strip() == fence:
            fence = None
        elif fence is None and needle in line:
            return False
    return True


@pytest.mark.slow
def test_html_report_offline_in_chromium_escapes_responses(smoke_run: Path, tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is missing: run `make browser` (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    run = _copy_run(smoke_run, tmp_path / "run")
    _rewrite_jsonl(
        run / "generations.jsonl",
        lambda r: {**r, "response": r["response"] + PAYLOAD} if r["condition"] == "baseline" else r,
    )
    _add_optional_sections(run)
    result = invoke("report", str(run), "--format", "both")
    assert result.exit_code == 0, result.output
    for stem in ("xstest", "downstream", "agreement", "loss"):
        assert (run / "plots" / f"{stem}.png").is_file(), stem

    md = (run / "report.md").read_text()
    assert "<script>window.__pwned" in md
    assert _fences_hold(md, "<script>") and _fences_hold(md, "onerror=")
    assert "## XSTest" in md and "## Fine-tuning" in md and "## Judge-human agreement" in md

    html = (run / "report.html").read_text()
    assert "<script" not in html.lower()
    assert "&lt;script&gt;window.__pwned" in html
    assert not re.search(r"(?:src|href)=\"(?:https?:)?//", html)

    console: list[str] = []
    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1300, "height": 900})
            page.on("console", lambda m: console.append(f"{m.type}: {m.text}") if m.type == "error" else None)
            page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
            page.on("request", lambda r: requests.append(r.url))
            page.goto((run / "report.html").as_uri())
            page.click("#examples-details > summary")
            page.wait_for_load_state("load")
            shot = tmp_path / "report.png"
            page.screenshot(path=str(shot), full_page=True)

            header = page.locator("#main-table thead th").all_inner_texts()
            assert header[:3] == ["dimension", "baseline", "psychosafe"]
            assert "psychosafe vs baseline (95% CI)" in header and "p (Holm)" in header
            assert page.locator("#main-table tbody tr").count() == len(REPORT_KEYS) + 2
            rq = page.locator("#main-table tbody tr", has_text="refusal quality (0-1)").inner_text()
            assert re.search(r"\d\.\d\d \[\d\.\d\d, \d\.\d\d\]", rq)  # mean with its interval
            for plot in ("dimensions", "rates", "domains", "xstest", "downstream", "loss", "agreement"):
                img = page.locator(f"#plot-{plot}")
                assert img.get_attribute("src").startswith("data:image/png;base64,"), plot
                assert img.evaluate("e => e.complete && e.naturalWidth > 100"), plot
            # the malicious response is text: no script ran, no element was created from it
            assert page.evaluate("typeof window.__pwned") == "undefined"
            assert page.locator("script").count() == 0
            assert page.locator("[onerror]").count() == 0
            assert page.locator("#examples a").count() == 0
            baseline = page.locator('.response[data-condition="baseline"] .text').first.inner_text()
            assert "<script>window.__pwned = 1</script>" in baseline
            assert '<img src="x" onerror=' in baseline
            assert page.locator("#judge").inner_text().count(OfflineJudge().name) >= 1
            assert (
                json.loads((run / "manifest.json").read_text())["items_hash"] in page.locator("#manifest").inner_text()
            )
        finally:
            browser.close()
    assert console == []
    assert requests and all(u.startswith(("file://", "data:")) for u in requests), requests
    assert shot.stat().st_size > 10_000


@pytest.mark.slow
def test_compare_two_runs_on_the_same_items(smoke_run: Path, tmp_path: Path) -> None:
    # run B: the same items, responses changed to add a concrete referral, re-judged by `psychosafe run`
    run_b = _copy_run(smoke_run, tmp_path / "b")
    for name in ("judgments.jsonl", "results.json", "report.md", "report.html"):
        (run_b / name).unlink()
    _rewrite_jsonl(run_b / "generations.jsonl", lambda r: {**r, "response": r["response"] + REFERRAL})
    result = invoke("run", "--profile", "smoke", "--out", str(run_b), "--display", "none")
    assert result.exit_code == 0, result.output
    assert (run_b / "report.html").is_file()

    out = tmp_path / "compare.json"
    result = invoke("compare", str(smoke_run), str(run_b), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "B vs A" in result.output
    comparison = json.loads(out.read_text())
    results_b = json.loads((run_b / "results.json").read_text())

    def scores(run: Path, condition: str) -> dict[str, dict]:
        rows = [json.loads(x) for x in (run / "judgments.jsonl").read_text().splitlines()]
        return {r["id"]: r["scores"] for r in rows if r["condition"] == condition and "-r-" in r["id"]}

    for condition in ("baseline", "psychosafe"):
        entry = comparison["conditions"][condition]
        assert entry["risk"]["n"] == 5 and entry["over_refusal"]["n"] == 2
        referral = entry["risk"]["keys"]["referral"]
        assert referral["delta"] > 0
        assert referral["mean_b"] == pytest.approx(results_b["conditions"][condition]["scores"]["referral"])
        a, b = scores(smoke_run, condition), scores(run_b, condition)
        ids = sorted(a)
        xa, xb = [a[i]["referral"] for i in ids], [b[i]["referral"] for i in ids]
        expected = stats.wilcoxon(xb, xa).pvalue if xa != xb else 1.0
        assert referral["test"]["p_value"] == pytest.approx(float(expected), abs=1e-9)
        assert referral["p_holm"] >= referral["test"]["p_value"]

    md = tmp_path / "compare.md"
    assert invoke("compare", str(smoke_run), str(run_b), "--condition", "psychosafe", "--out", str(md)).exit_code == 0
    assert "## psychosafe" in md.read_text() and "## baseline" not in md.read_text()

    # a run against itself: no differences, p = 1 everywhere
    same = invoke("compare", str(smoke_run), str(smoke_run), "--out", str(out))
    assert same.exit_code == 0, same.output
    for entry in json.loads(out.read_text())["conditions"]["psychosafe"]["risk"]["keys"].values():
        assert entry["delta"] == 0 and entry["test"]["p_value"] == 1.0


@pytest.mark.slow
def test_report_and_compare_user_errors(smoke_run: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    for args in (("report", str(empty)), ("compare", str(smoke_run), str(empty))):
        result = invoke(*args)
        assert result.exit_code == 2
        assert "not a psychosafe run directory" in str(result.exception)
    unfinished = tmp_path / "unfinished"
    unfinished.mkdir()
    (unfinished / "config.yaml").write_text("profile: smoke\n")
    result = invoke("report", str(unfinished))
    assert result.exit_code == 2 and "has not finished" in str(result.exception)
    result = invoke("report", str(smoke_run), "--format", "pdf")
    assert result.exit_code == 2 and "--format" in str(result.exception)
    result = invoke("compare", str(smoke_run), str(smoke_run), "--condition", "finetuned")
    assert result.exit_code == 2 and "not in both runs" in str(result.exception)

    # the same settings on other items (ids that the other run does not have): nothing to pair
    other = _copy_run(smoke_run, tmp_path / "other")
    _rewrite_jsonl(other / "judgments.jsonl", lambda r: {**r, "id": "x" + r["id"]})
    result = invoke("compare", str(smoke_run), str(other))
    assert result.exit_code == 2
    assert "no scored items in common" in str(result.exception)
