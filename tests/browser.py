"""A real headless Chromium, driven by Playwright (docs/delivery.md).

The system's Chromium is used (scripts/system-packages.sh installs it); a
browser is never downloaded. A missing browser fails the tests, it does not
skip them.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest

FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


# Module scope, not session: Playwright's sync API keeps an asyncio loop running
# in the main thread while it is open, and a later module that starts its own
# Playwright, or calls asyncio.run, then fails ("inside the asyncio loop").
@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        pytest.fail("no chromium on PATH: run scripts/system-packages.sh (nox -s tests does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True, args=FLAGS)
        yield browser
        browser.close()
