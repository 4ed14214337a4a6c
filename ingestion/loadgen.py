"""Traffic shaped like the Clickstream SDKs', sent to a collector over HTTP: for trying an endpoint, and for
the portal's demo.

Users on web and mobile devices in several countries open the app (``_first_open`` the first time), start
sessions (``_session_start``), view pages or screens, look at products and some buy them (``view_item`` →
``add_to_cart`` → ``purchase``), and some come back on later days. Requests carry what the SDKs send: the
Web SDK's plain JSON array with a browser's User-Agent, the mobile SDKs' base64 gzip with ``compression=gzip``
and ``upload_timestamp``. The client's country comes from ``X-Forwarded-For``, which the collector honours
only from a trusted proxy (``make run`` trusts the loopback address, so that this reaches the ETL's geo
enricher).

No Django here: ingestion ships alone.

    python -m ingestion.loadgen --endpoint http://127.0.0.1:8001/collect --app-id shop_web --rate 5 --duration 30
    python -m ingestion.loadgen --endpoint … --app-id shop_web --app-id shop_ios --users 40   # a fixed set
"""

from __future__ import annotations

import argparse
import base64
import gzip
import json
import random
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

DAY_MS = 86_400_000
# The ETL drops events more than 72 h older than their arrival (except first opens): stay inside that.
MAX_AGE_MS = 60 * 3_600_000
COUNTRIES = {  # an address the bundled geo data places in each country
    "US": "8.8.8.8",
    "GB": "81.2.69.142",
    "DE": "80.156.0.1",
    "FR": "62.210.16.1",
    "JP": "133.242.0.3",
    "BR": "200.147.67.142",
    "IN": "49.44.0.1",
}
BROWSERS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
]
PHONES = {  # platform → (make, model, os version, User-Agent of the SDK's HTTP client)
    "Android": [
        ("Google", "Pixel 8", "14", "Dalvik/2.1.0 (Linux; U; Android 14; Pixel 8 Build/UQ1A.240105.004)"),
        ("samsung", "SM-S911B", "13", "Dalvik/2.1.0 (Linux; U; Android 13; SM-S911B Build/TP1A.220624.014)"),
    ],
    "iOS": [("apple", "iPhone15,2", "17.1", "Shop/1.4.0 CFNetwork/1485 Darwin/23.1.0")],
}
PAGES = [("/", "Home"), ("/products", "All products"), ("/cart", "Cart"), ("/about", "About us")]
SCREENS = [("MainActivity", "Home"), ("ProductListActivity", "Products"), ("CartActivity", "Cart")]
REFERRERS = ["", "https://www.google.com/", "https://t.co/", "https://news.example/"]
PRODUCTS = [
    ("sku-101", "Trail shoe", 89.0),
    ("sku-202", "Rain jacket", 129.0),
    ("sku-303", "Wool socks", 12.5),
]


@dataclass
class Device:
    """One person's install (mobile) or browser (web): the ids and attributes every event of it carries."""

    app_id: str
    platform: str
    unique_id: str
    ua: str
    country: str
    make: str = ""
    model: str = ""
    os_version: str = ""
    sessions: int = 0
    sequence: int = 0  # the SDK's event_bundle_sequence_id: one more per request

    @property
    def mobile(self) -> bool:
        return self.platform != "Web"


@dataclass
class Request:
    """One HTTP request an SDK would send: its query, headers and body, and the events it carries."""

    device: Device
    events: list[dict[str, Any]]
    sent_at_ms: int

    def query(self) -> str:
        params = {"platform": self.device.platform, "appId": self.device.app_id}
        params["event_bundle_sequence_id"] = str(self.device.sequence)
        if self.device.mobile:
            params |= {"upload_timestamp": str(self.sent_at_ms), "compression": "gzip"}
        return urlencode(params)

    def body(self) -> bytes:
        text = json.dumps(self.events, separators=(",", ":"))
        if self.device.mobile:  # the mobile SDKs: base64 of gzip of the JSON text
            return base64.b64encode(gzip.compress(text.encode(), 6))
        return text.encode()

    def headers(self) -> dict[str, str]:
        return {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": self.device.ua,
            "X-Forwarded-For": COUNTRIES[self.device.country],
        }


@dataclass
class Sent:
    """What was sent, as the ETL will count it: events by name, and the requests the collector took."""

    requests: int = 0
    accepted: int = 0
    refused: Counter[int] = field(default_factory=Counter)
    events: Counter[str] = field(default_factory=Counter)
    by_app: Counter[str] = field(default_factory=Counter)
    users: set[str] = field(default_factory=set)

    def report(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "accepted": self.accepted,
            "refused": {str(k): v for k, v in sorted(self.refused.items())},
            "events": sum(self.events.values()),
            "events_by_name": dict(sorted(self.events.items())),
            "events_by_app": dict(sorted(self.by_app.items())),
            "users": len(self.users),
        }


class Traffic:
    """Makes devices and their sessions; every random choice comes from one seeded generator."""

    def __init__(self, app_ids: dict[str, str], *, seed: int = 1) -> None:
        """`app_ids`: platform ("Web", "Android", "iOS") → the app id its events go to."""
        if not app_ids:
            raise ValueError("give at least one app id")
        self.app_ids = app_ids
        self.rng = random.Random(seed)

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def device(self) -> Device:
        platform = self.rng.choice(sorted(self.app_ids))
        country = self.rng.choice(list(COUNTRIES))
        device = Device(self.app_ids[platform], platform, self.uuid(), "", country)
        if device.mobile:
            device.make, device.model, device.os_version, device.ua = self.rng.choice(PHONES[platform])
        else:
            device.ua = self.rng.choice(BROWSERS)
        return device

    def session(self, device: Device, start_ms: int) -> list[Request]:
        """One visit: a first open on the very first, then views, maybe a purchase; sent in a few requests
        as the SDKs batch them (the Web SDK's batch mode, the mobile SDKs' flush interval)."""
        device.sessions += 1
        session_id = (
            f"{device.unique_id[-8:]}-{datetime.fromtimestamp(start_ms / 1000, UTC):%Y%m%d-%H%M%S%f}"[:-3]
        )
        names: list[tuple[str, dict[str, Any]]] = []
        if device.sessions == 1:
            names.append(("_first_open", {}))
        names.append(("_session_start", {}))
        views = PAGES if not device.mobile else SCREENS
        for _ in range(self.rng.randint(1, 4)):
            names.append(
                ("_page_view" if not device.mobile else "_screen_view", {"view": self.rng.choice(views)})
            )
        product = self.rng.choice(PRODUCTS)
        if self.rng.random() < 0.7:
            names.append(("view_item", {"product": product}))
            if self.rng.random() < 0.6:
                names.append(("add_to_cart", {"product": product}))
                if self.rng.random() < 0.6:
                    names.append(("purchase", {"product": product}))
        names.append(("_user_engagement", {}))
        events = [
            self.event(device, name, start_ms + i * 4_000, start_ms, session_id, extra)
            for i, (name, extra) in enumerate(names)
        ]
        cut = sorted(self.rng.sample(range(1, len(events)), k=min(2, len(events) - 1)))
        batches = [events[a:b] for a, b in zip([0, *cut], [*cut, len(events)], strict=True)]
        requests = []
        for batch in batches:
            device.sequence += 1
            requests.append(Request(device, batch, sent_at_ms=batch[-1]["timestamp"] + 500))
        return requests

    def event(
        self, device: Device, name: str, ts: int, start_ms: int, session_id: str, extra: dict[str, Any]
    ) -> dict[str, Any]:
        attributes: dict[str, Any] = {
            "_session_id": session_id,
            "_session_start_timestamp": start_ms,
            "_session_duration": ts - start_ms,
            "_session_number": device.sessions,
        }
        if "view" in extra and not device.mobile:
            path, title = extra["view"]
            attributes |= {"_page_url": f"https://shop.example.com{path}", "_page_title": title}
            attributes |= {"_page_referrer": self.rng.choice(REFERRERS), "_latest_referrer": ""}
        elif "view" in extra:
            attributes |= {"_screen_name": extra["view"][0], "_screen_id": extra["view"][0]}
        event: dict[str, Any] = {
            "event_type": name,
            "event_id": self.uuid(),
            "app_id": device.app_id,
            "unique_id": device.unique_id,
            "device_id": device.unique_id if device.mobile else "",
            "timestamp": ts,
            "platform": device.platform,
            "locale": "en_US",
            "zone_offset": 0,
            "make": device.make,
            "model": device.model,
            "os_version": device.os_version,
            "sdk_name": "aws-solution-clickstream-sdk",
            "sdk_version": "0.12.6" if not device.mobile else "0.14.1",
            "app_version": "1.4.0",
            "user": {"_user_first_touch_timestamp": {"value": start_ms, "set_timestamp": start_ms}},
            "attributes": attributes,
        }
        if "product" in extra:
            sku, title, price = extra["product"]
            event["items"] = [{"id": sku, "name": title, "price": price, "quantity": 1, "currency": "USD"}]
            if name == "purchase":
                attributes |= {"value": price, "currency": "USD"}
        return event

    def test_event(self, *, now_ms: int) -> Request:
        """One request with one `clickstream_test` event, as the portal's "send a test event" button sends."""
        device = self.device()
        device.sequence = 1
        event = self.event(device, "clickstream_test", now_ms, now_ms, f"{device.unique_id[-8:]}-test", {})
        return Request(device, [event], sent_at_ms=now_ms)

    def history(self, *, users: int, days: int, now_ms: int) -> list[Request]:
        """A fixed set: `users` devices whose first session falls in the last `days` days (at most 60 h ago,
        so the ETL keeps every event), a third of them back on a later day; sorted by time."""
        span = min(days * DAY_MS, MAX_AGE_MS)
        requests: list[Request] = []
        for _ in range(users):
            device = self.device()
            first = now_ms - self.rng.randint(span // 2, span)
            starts = [first]
            if self.rng.random() < 0.35:
                starts.append(
                    first + self.rng.randint(DAY_MS // 2, max(DAY_MS // 2 + 1, now_ms - first - 120_000))
                )
            for start in starts:
                requests += [r for r in self.session(device, start) if r.events[-1]["timestamp"] < now_ms]
        return sorted(requests, key=lambda r: r.sent_at_ms)


def post(endpoint: str, request: Request, *, timeout: float = 10.0) -> tuple[int, str]:
    """POST one request: the status (0 when the collector does not answer) and the request id or reason."""
    url = f"{endpoint}?{request.query()}"
    call = urllib.request.Request(url, data=request.body(), headers=request.headers(), method="POST")
    try:
        with urllib.request.urlopen(call, timeout=timeout) as response:
            return response.status, response.headers.get("x-request-id", "")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")[:200]
    except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
        return 0, str(getattr(error, "reason", error))


def send(endpoint: str, requests: Iterable[Request], *, workers: int = 4, timeout: float = 10.0) -> Sent:
    """POST each request; a refused one is counted by status and its events are not counted as sent."""
    sent = Sent()

    def one(request: Request) -> tuple[Request, int]:
        return request, post(endpoint, request, timeout=timeout)[0]

    with ThreadPoolExecutor(max_workers=workers) as pool:
        for request, status in pool.map(one, requests):
            sent.requests += 1
            if status == 200:
                sent.accepted += 1
                sent.users.add(request.device.unique_id)
                for event in request.events:
                    sent.events[event["event_type"]] += 1
                    sent.by_app[event["app_id"]] += 1
            else:
                sent.refused[status] += 1
    return sent


def paced(traffic: Traffic, *, rate: float, duration: float) -> Iterator[Request]:
    """Live sessions, timestamped now, at about `rate` requests a second for `duration` seconds."""
    deadline = time.monotonic() + duration
    pending: list[Request] = []
    while time.monotonic() < deadline:
        if not pending:
            pending = traffic.session(traffic.device(), int(time.time() * 1000) - 30_000)
        yield pending.pop(0)
        time.sleep(1 / rate)


def app_ids_by_platform(app_ids: list[str], platforms: list[str]) -> dict[str, str]:
    """`--app-id web_id --app-id ios_id` with `--platform Web --platform iOS`; one app id alone is Web."""
    if not platforms:
        platforms = ["Web", "Android", "iOS"][: len(app_ids)]
    if len(platforms) != len(app_ids):
        raise SystemExit("give one --platform per --app-id (or none: Web, then Android, then iOS)")
    return dict(zip(platforms, app_ids, strict=True))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ingestion.loadgen", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--endpoint", required=True, help="the collect URL, e.g. http://127.0.0.1:8001/collect"
    )
    parser.add_argument("--app-id", action="append", required=True, help="an app id (repeat for more apps)")
    parser.add_argument("--platform", action="append", default=[], choices=["Web", "Android", "iOS"])
    parser.add_argument("--rate", type=float, default=5.0, help="requests a second (paced mode)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds to send for (paced mode)")
    parser.add_argument("--users", type=int, help="send a fixed set of this many users' last days instead")
    parser.add_argument("--days", type=int, default=3, help="how many days the fixed set covers")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if not 0 < args.rate <= 1000 or not 0 < args.duration <= 3600:
        raise SystemExit("--rate must be in (0, 1000] and --duration in (0, 3600] seconds")
    if args.users is not None and not 1 <= args.users <= 10_000:
        raise SystemExit("--users must be 1-10000")
    traffic = Traffic(app_ids_by_platform(args.app_id, args.platform), seed=args.seed)
    if args.users:
        requests: Iterable[Request] = traffic.history(
            users=args.users, days=args.days, now_ms=int(time.time() * 1000)
        )
        sent = send(args.endpoint, requests)
    else:
        sent = send(args.endpoint, paced(traffic, rate=args.rate, duration=args.duration), workers=1)
    print(json.dumps(sent.report(), indent=2))
    return 0 if sent.accepted == sent.requests else 1


if __name__ == "__main__":
    sys.exit(main())
