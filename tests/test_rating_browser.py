"""The rating page in a real browser: Playwright driving Debian's chromium (``make browser`` installs it)."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from _rating_helpers import XSS_RESPONSES, serve, write_items
from psychosafe.rating.db import RatingDB
from psychosafe.rating.items import from_jsonl

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

if not Path(CHROMIUM).exists():
    if os.environ.get("CI"):
        raise RuntimeError("the browser test needs Debian's chromium in CI: run `make browser` first")
    pytestmark = pytest.mark.skip(reason="Debian's chromium is not installed (run `make browser`)")


@pytest.fixture()
def browser_page() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            yield page
        finally:
            browser.close()


@pytest.mark.slow
def test_rate_two_items_with_the_keyboard_untrusted_output_stays_text(browser_page, tmp_path: Path) -> None:
    from playwright.sync_api import Page

    page: Page = browser_page  # type: ignore[assignment]
    db, _ = RatingDB.create(tmp_path / "ratings.db")
    # every item carries an injection attempt, so whichever comes first in this rater's order is checked
    responses = [XSS_RESPONSES[i % len(XSS_RESPONSES)] for i in range(3)]
    db.import_items(from_jsonl(write_items(tmp_path / "items.jsonl", 3, responses)), overlap=1)
    token = db.add_rater("browser")
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    with serve(db.path) as server:
        page.goto(f"{server.url}/r/{token}")
        assert page.locator("#content-warning").is_visible()
        page.click("#start")
        page.wait_for_url("**/n/1")

        seen: list[str] = []
        keys = ["1", "0", "4", "3", "5", "4", "2", "4"]  # refusal .. overall, in rubric order
        for position in (1, 2):
            assert page.locator("#progress").get_attribute("value") == str(position - 1)
            response = page.locator("#response").inner_text()
            seen.append(response)
            assert response in XSS_RESPONSES  # shown verbatim, as text
            for key in keys:
                page.keyboard.press(key)
            assert page.locator("fieldset.dim input:checked").count() == 8
            page.keyboard.press("Enter")
            page.wait_for_url(f"**/n/{position + 1}")

        # the markup inside responses never became elements, and nothing ran
        assert page.evaluate("window.__pwned") is None
        assert page.locator("#response script, #response img, #response a").count() == 0
        assert page.locator("a[href^='javascript:']").count() == 0
        assert dialogs == []
        page.screenshot(path=str(tmp_path / "third-item.png"), full_page=True)

        page.keyboard.press("b")  # back to item 2: the rating is there
        page.wait_for_url("**/n/2")
        assert page.locator("#response").inner_text() == seen[1]
        assert page.locator("input[name=empathy][value='4']").is_checked()
        assert page.locator("input[name=refusal][value='1']").is_checked()
        page.keyboard.press("b")
        page.wait_for_url("**/n/1")
        assert page.locator("#response").inner_text() == seen[0]
        page.screenshot(path=str(tmp_path / "back-to-first.png"), full_page=True)
        if os.environ.get("PSYCHOSAFE_SCREENSHOT_DIR"):  # keep the screenshots (CI uploads them)
            target = Path(os.environ["PSYCHOSAFE_SCREENSHOT_DIR"])
            target.mkdir(parents=True, exist_ok=True)
            for png in tmp_path.glob("*.png"):
                shutil.copy(png, target / png.name)
        assert page.evaluate("window.__pwned") is None
        assert (tmp_path / "third-item.png").stat().st_size > 10_000

    export = db.export_rows()
    assert len(export) == 2
    expected = dict(zip(["refusal", "harmful_content", "empathy", "grounding", "referral", "relevance",
                         "alternative", "overall"], map(int, keys), strict=True))  # fmt: skip
    for row in export:
        assert {k: row[k] for k in expected} == expected, json.dumps(row)
