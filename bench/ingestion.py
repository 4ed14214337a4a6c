"""Collector benchmark: wrk on loopback against one collector worker (durable spool, file sink) and, in the
same run, against nginx answering ``return 200`` (the ceiling on this machine), reported as a ratio.

    make bench-ingestion            # or: .venv/bin/python bench/ingestion.py --duration 10 --connections 32

Bodies are 10-event, ~2 KB Web-SDK-shaped JSON arrays. A second pass offers half the measured collector
rate at a fixed schedule (an open-loop generator of ours, since wrk has no fixed-rate mode) and reports its
p50/p99 latency. The collector's CPU time per request (with its shipping worker) is reported too: unlike
requests/s it hardly depends on what else the machine is running. At the end every record in the lake is counted: it must be at
least the number of 200s wrk saw.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import gzip
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import uvloop

REPO = Path(__file__).resolve().parent.parent
QUERY = "appId=bench_web&platform=Web&event_bundle_sequence_id=1"
NGINX_CONF = """worker_processes 1; daemon off; pid {dir}/nginx.pid; error_log stderr error;
events {{ worker_connections 4096; }}
http {{ access_log off; client_body_temp_path {dir}/body;
  keepalive_requests 10000000;
  server {{ listen 127.0.0.1:{port}; location / {{ return 200; }} }} }}
"""
WRK_SCRIPT = """wrk.method = "POST"
local f = io.open("{body}", "rb"); wrk.body = f:read("*a"); f:close()
wrk.headers["Content-Type"] = "application/json; charset=utf-8"
wrk.headers["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36"
"""


def web_sdk_body(events: int = 10) -> bytes:
    """A batch shaped like the Web SDK's (spec/ingestion.md §7.2), about 200 bytes per event."""
    now = int(time.time() * 1000)
    batch = [
        {
            "event_type": "_page_view",
            "event_id": str(uuid.uuid4()),
            "app_id": "bench_web",
            "unique_id": "3f1a2b4c-5d6e",
            "timestamp": now + i,
            "platform": "Web",
            "attributes": {"_page_url": f"/p/{i}"},
        }
        for i in range(events)
    ]
    return json.dumps(batch, separators=(",", ":")).encode()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not come up")


def run_wrk(url: str, script: Path, *, duration: int, connections: int) -> dict[str, Any]:
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return parse_wrk(out)


def parse_wrk(out: str) -> dict[str, Any]:
    def ms(label: str) -> float:
        match = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if not match:
            return float("nan")
        return float(match[1]) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[match[2]]

    total = int(re.search(r"(\d+) requests in", out)[1])  # type: ignore[index]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1]),  # type: ignore[index]
        "p50_ms": ms("50"),
        "p99_ms": ms("99"),
        "requests": total,
        "non_2xx": int(errors[1]) if errors else 0,
        "socket_errors": socket_errors[1] if socket_errors else "",
    }


class PacedLoad:
    """An open-loop load generator: requests start on a fixed schedule whatever the answers' latency, and
    latency is measured from the scheduled start (no coordinated omission). wrk has no fixed-rate mode.
    Requests wait for a free connection when all are busy; that wait counts in their latency."""

    def __init__(self, port: int, target: str, body: bytes, connections: int) -> None:
        head = f"POST {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        self.request = head.encode() + b"Content-Length: %d\r\n\r\n" % len(body) + body
        self.port = port
        self.connections = connections
        self.latencies: list[float] = []
        self.statuses: dict[int, int] = {}
        self.idle: list[PacedConnection] = []
        self.backlog: collections.deque[float] = collections.deque()

    async def run(self, rate: float, duration: float) -> dict[str, float]:
        loop = asyncio.get_running_loop()
        for _ in range(self.connections):
            await loop.create_connection(lambda: PacedConnection(self), "127.0.0.1", self.port)
        start, total, sent = time.perf_counter(), int(rate * duration), 0  # uvloop's clock ticks in ms
        while sent < total or len(self.latencies) < total:
            due = min(total, int((time.perf_counter() - start) * rate) + 1)
            self.backlog.extend(start + index / rate for index in range(sent, due))
            sent = due
            self.dispatch()
            await asyncio.sleep(0.001)  # uvloop timers tick in ms: a shorter sleep would spin a core
        elapsed = time.perf_counter() - start
        ordered = sorted(self.latencies)
        return {
            "rps": round(len(ordered) / elapsed, 1),
            "target_rps": round(rate, 1),
            "p50_ms": round(ordered[len(ordered) // 2] * 1000, 2),
            "p99_ms": round(ordered[int(len(ordered) * 0.99)] * 1000, 2),
            "requests": len(ordered),
            "non_2xx": sum(count for status, count in self.statuses.items() if status != 200),
        }

    def dispatch(self) -> None:
        while self.backlog and self.idle:
            self.idle.pop().send(self.backlog.popleft())

    def answered(self, connection: PacedConnection, status: int, scheduled: float) -> None:
        self.latencies.append(time.perf_counter() - scheduled)
        self.statuses[status] = self.statuses.get(status, 0) + 1
        self.idle.append(connection)
        self.dispatch()


class PacedConnection(asyncio.Protocol):
    """One keep-alive connection of the paced load; the collector's answers carry no body."""

    def __init__(self, load: PacedLoad) -> None:
        self.load = load
        self.buffer = b""
        self.scheduled = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.load.idle.append(self)

    def send(self, scheduled: float) -> None:
        self.scheduled = scheduled
        self.transport.write(self.load.request)  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head, self.buffer = self.buffer[:end], b""
        self.load.answered(self, int(head.split(b" ", 2)[1]), self.scheduled)


def write_script(work: Path, body: Path) -> Path:
    script = work / "wrk.lua"
    script.write_text(WRK_SCRIPT.format(body=body))
    return script


def start_nginx(work: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    conf = work / "nginx.conf"
    conf.write_text(NGINX_CONF.format(dir=work, port=port))
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    process = subprocess.Popen([nginx, "-c", str(conf), "-p", str(work)])
    wait_for(f"http://127.0.0.1:{port}/")
    return process, port


def start_collector(work: Path, *, fsync: bool) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    command = [sys.executable, "-m", "ingestion", "serve", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--sink", f"file://{work}/lake", "--spool-dir", str(work / "spool"), "--log-level", "warning"]
    command += ["--app-ids", "bench_web", "--project-id", "bench", "--batch-seconds", "2"]
    command += ["--fsync", "true" if fsync else "false"]
    process = subprocess.Popen(command, cwd=REPO)
    wait_for(f"http://127.0.0.1:{port}/ping")
    return process, port


def cpu_seconds(pid: int) -> tuple[float, float]:
    """User + system CPU time of a process, and of its children (the collector's shipping worker)."""
    ticks = os.sysconf("SC_CLK_TCK")
    own = children = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        seconds = (int(fields[11]) + int(fields[12])) / ticks
        if int(stat.parent.name) == pid:
            own += seconds
        elif int(fields[1]) == pid:
            children += seconds
    return own, children


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()


def lake_records(work: Path) -> int:
    return sum(
        len(gzip.decompress(path.read_bytes()).splitlines()) for path in (work / "lake").rglob("*.log.gz")
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    options = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is missing: make install (scripts/system-packages.sh) installs it")
    with tempfile.TemporaryDirectory(prefix="bench-ingestion-") as tmp:
        report = run(Path(tmp), options.duration, options.connections)
    print(json.dumps(report, indent=2))


def run(work: Path, duration: int, connections: int) -> dict[str, object]:
    body_path = work / "body.json"
    body = web_sdk_body()
    body_path.write_bytes(body)
    script = write_script(work, body_path)
    nginx, nginx_port = start_nginx(work)
    try:
        before = sum(cpu_seconds(nginx.pid))
        url = f"http://127.0.0.1:{nginx_port}/collect?{QUERY}"
        ceiling = run_wrk(url, script, duration=duration, connections=connections)
        ceiling["server_cpu_us_per_request"] = round(
            (sum(cpu_seconds(nginx.pid)) - before) / ceiling["requests"] * 1e6, 1
        )
    finally:
        stop(nginx)
    collector, port = start_collector(work, fsync=True)
    url = f"http://127.0.0.1:{port}/collect?{QUERY}"
    try:
        own_before = cpu_seconds(collector.pid)[0]
        full = run_wrk(url, script, duration=duration, connections=connections)
        full["server_cpu_us_per_request"] = round(
            (cpu_seconds(collector.pid)[0] - own_before) / full["requests"] * 1e6, 1
        )
        # Let the shipper catch up with the max-rate phase first, so the paced phase measures the steady
        # state at half the rate rather than half the rate plus a backlog being compressed and shipped.
        wait_for_drain(work, full["requests"] - full["non_2xx"])
        paced_load = PacedLoad(port, f"/collect?{QUERY}", body, connections=connections)
        paced = uvloop.run(paced_load.run(rate=full["rps"] / 2, duration=duration))
        time.sleep(3)  # the last segments roll (every 2 s) and ship
        # the shipping worker's whole life, start-up included, over every request it shipped
        full["shipper_cpu_us_per_request"] = round(
            cpu_seconds(collector.pid)[1] / (full["requests"] + paced["requests"]) * 1e6, 1
        )
    finally:
        stop(collector)
    accepted = full["requests"] - full["non_2xx"] + paced["requests"] - paced["non_2xx"]
    stored = lake_records(work)
    return summary(body, ceiling, full, paced, accepted, stored)


def wait_for_drain(work: Path, expected: float, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while lake_records(work) < expected and time.monotonic() < deadline:
        time.sleep(1.0)


def summary(
    body: bytes, ceiling: dict, full: dict, paced: dict, accepted: float, stored: int
) -> dict[str, object]:
    return {
        "body_bytes": len(body),
        "events_per_request": 10,
        "cores": os.cpu_count(),
        "nginx_return_200": ceiling,
        "collector_max": {**full, "events_per_s": round(full["rps"] * 10)},
        "collector_at_half_rate": paced,
        "ratio_collector_to_nginx": round(full["rps"] / ceiling["rps"], 3),
        "load_average_after": os.getloadavg()[0],
        "requests_acknowledged": accepted,
        "records_in_lake": stored,
        "nothing_lost": stored >= accepted,
        "target_met": full["rps"] >= 10_000 and paced["p99_ms"] < 10,
    }


if __name__ == "__main__":
    main()
