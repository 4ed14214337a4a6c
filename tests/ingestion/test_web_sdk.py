"""The official Web SDK (``@aws/clickstream-web`` from npm) in headless Chromium, on a page served from
another origin, sends to a real collector; its events land in the lake."""

from __future__ import annotations

import functools
import http.server
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from tests.ingestion.conftest import CollectorProcess, free_port, lake_records, wait_until

WEB = Path(__file__).resolve().parent / "web"

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="session")
def sdk_bundle() -> Path:
    """Install the SDK and esbuild from npm (pinned in web/package.json) and bundle the test entry."""
    if not shutil.which("npm"):
        pytest.fail("npm is required for the Web SDK test (make install provides it)")
    if not (WEB / "node_modules" / "@aws" / "clickstream-web").is_dir():
        subprocess.run(
            ["npm", "install", "--no-package-lock", "--no-audit", "--no-fund"], cwd=WEB, check=True
        )
    bundle = WEB / "dist" / "bundle.js"
    esbuild = [str(WEB / "node_modules" / ".bin" / "esbuild"), "entry.js", "--bundle", "--format=iife"]
    subprocess.run([*esbuild, f"--outfile={bundle}"], cwd=WEB, check=True, capture_output=True)
    return bundle


@pytest.fixture(scope="session")
def page_origin(sdk_bundle: Path) -> Iterator[str]:
    """The shop's pages, served from an origin other than the collector's."""
    handler = functools.partial(QuietHandler, directory=str(WEB))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://localhost:{server.server_address[1]}"
    server.shutdown()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        return None


def sdk_events(lake: Path) -> list[tuple[dict, dict]]:
    """(record, event) pairs of every event the SDK sent."""
    return [(record, event) for record in lake_records(lake) for event in orjson.loads(record["data"])]


@pytest.mark.parametrize("mode", ["immediate", "batch"])
def test_the_official_web_sdk_lands_in_the_lake(
    browser: object, start_collector: object, page_origin: str, mode: str
) -> None:
    collector: CollectorProcess = start_collector(  # type: ignore[operator]
        "--app-ids", "shop_web", "--project-id", "shop", "--batch-seconds", "1", "--cors-origins", page_origin
    )
    endpoint = f"{collector.url}/collect"
    context = browser.new_context()  # type: ignore[attr-defined]
    try:
        page = context.new_page()
        console: list[str] = []
        page.on("console", lambda message: console.append(message.text))
        page.goto(f"{page_origin}/index.html?appId=shop_web&mode={mode}&endpoint={endpoint}")
        page.wait_for_function("window.recorded === true")

        def purchase_arrived() -> bool:
            return any(event["event_type"] == "purchase" for _, event in sdk_events(collector.lake))

        wait_until(purchase_arrived, timeout=30, interval=0.3)
    finally:
        context.close()
    # Chromium reports keepalive fetches as aborted to the page's observers, so the SDK's own log is the
    # judge: it logs every success and every non-200 answer or network error.
    if mode == "immediate":
        assert any("Event send success" in line for line in console)
    assert not [line for line in console if "Request failed" in line or "Error during request" in line]
    pairs = sdk_events(collector.lake)
    names = {event["event_type"] for _, event in pairs}
    assert {"add_to_cart", "purchase", "_first_open", "_session_start"} <= names
    for record, event in pairs:
        assert record["appId"] == event["app_id"] == "shop_web"
        assert record["platform"] == "Web" and record["uri"].startswith(
            "/collect?platform=Web&appId=shop_web"
        )
        assert record["ua"] and "Chrome" in record["ua"]
    purchase = next(event for _, event in pairs if event["event_type"] == "purchase")
    assert purchase["items"][0]["id"] == "A-1"
    assert purchase["user"]["_user_id"]["value"] == "user-42"
    largest = max(len(orjson.loads(record["data"])) for record in lake_records(collector.lake))
    if mode == "batch":
        assert largest >= 2, "batch mode sends several events per request"
    else:
        assert largest <= 2, "immediate mode sends events one by one (a retry may merge a failed one)"
