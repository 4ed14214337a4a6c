"""Portal pages in headless Chromium (the shared `browser` fixture) against the live test server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture
def page(browser: object, live_server: object) -> Iterator[object]:
    context = browser.new_context(base_url=live_server.url)  # type: ignore[attr-defined]
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    context.close()
