"""A member logs in and reads the council tree on a phone, in Debian's chromium."""

from __future__ import annotations

import os
import shutil
from typing import Any

import pytest

from tests.personas import build_federation

CHROMIUM = "/usr/bin/chromium"
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not os.path.exists(CHROMIUM) and not os.environ.get("CI"),
        reason="Debian's chromium is not installed (.ci/run installs it)",
    ),
]


@pytest.fixture
def page() -> Any:
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=shutil.which("chromium") or CHROMIUM,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        context = browser.new_context(
            viewport={"width": 390, "height": 844}, java_script_enabled=False
        )
        yield context.new_page()
        browser.close()


@pytest.mark.django_db(transaction=True)
def test_a_member_logs_in_and_reads_the_tree_on_a_phone(live_server: Any, page: Any) -> None:
    build_federation()
    page.goto(f"{live_server.url}/o/fed/")
    assert "/accounts/login/" in page.url
    page.fill("#id_username", "mia")
    page.fill("#id_password", "pw-mia-123")
    page.click("button[type=submit]")
    page.goto(f"{live_server.url}/o/fed/")
    assert page.locator("h1").inner_text() == "Test Federation"
    assert page.get_by_text("North Region").first.is_visible()
    page.click("text=Bakery")
    assert page.locator("h1").inner_text() == "Bakery"
    # Nothing overflows the phone's width.
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
