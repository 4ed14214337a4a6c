"""Fixtures of the collector tests: a real collector process, a real moto_server, helpers to read the lake."""

from __future__ import annotations

import gzip
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import orjson
import pytest

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate: object, timeout: float = 15.0, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")


def lake_records(root: Path) -> list[dict]:
    """Every raw record under a lake root (file sink)."""
    return [
        orjson.loads(line)
        for path in sorted(root.rglob("*.log.gz"))
        for line in gzip.decompress(path.read_bytes()).splitlines()
    ]


@dataclass
class CollectorProcess:
    """A collector started as ``python -m ingestion serve`` on a free loopback port."""

    args: list[str]
    workdir: Path
    env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def lake(self) -> Path:
        return self.workdir / "lake"

    @property
    def spool(self) -> Path:
        return self.workdir / "spool"

    @property
    def log_path(self) -> Path:
        return self.workdir / "collector.log"

    def start(self, wait: bool = True) -> CollectorProcess:
        command = [
            sys.executable,
            "-m",
            "ingestion",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
        ]
        command += ["--spool-dir", str(self.spool), *self.args]
        env = {**os.environ, **self.env}
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child process writes to it
        self.process = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=log)
        if wait:
            wait_until(self.is_up, timeout=20)
        return self

    def is_up(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"collector exited: {self.log_path.read_text()[-3000:]}")
        try:
            return httpx.get(f"{self.url}/ping", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout=timeout)

    def logs(self) -> list[dict]:
        return [
            orjson.loads(line) for line in self.log_path.read_bytes().splitlines() if line.startswith(b"{")
        ]


@pytest.fixture
def start_collector(tmp_path: Path) -> Iterator[object]:
    """Start collectors with extra flags; each is stopped (SIGKILL if need be) at the end of the test."""
    started: list[CollectorProcess] = []

    def start(
        *args: str, sink: str | None = None, env: dict[str, str] | None = None, **kw: object
    ) -> CollectorProcess:
        sink_args = ["--sink", sink or f"file://{tmp_path}/lake"]
        collector = CollectorProcess([*sink_args, *args], tmp_path, env or {})
        started.append(collector)
        return collector.start(**kw)  # type: ignore[arg-type]

    yield start
    for collector in started:
        if collector.process is not None and collector.process.poll() is None:
            collector.process.kill()
            collector.process.wait()


SINGLE_APP = ("--app-ids", "shop_web,shop_android", "--project-id", "shop", "--batch-seconds", "1")


@pytest.fixture(scope="module")
def shared_collector(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CollectorProcess]:
    """One collector for the many protocol tests that do not restart it (starting one costs ~1 s)."""
    workdir = tmp_path_factory.mktemp("collector")
    args = [
        "--sink", f"file://{workdir}/lake", *SINGLE_APP,
        "--cors-origins", "https://shop.example, *.example.com",
        "--trusted-proxies", "10.0.0.0/8,127.0.0.1",
        "--header-timeout", "1", "--body-timeout", "1",
    ]  # fmt: skip
    collector = CollectorProcess(args, workdir).start()
    yield collector
    collector.stop()


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """A real ``moto_server`` on a loopback port, reached over HTTP like AWS would be."""
    port = free_port()
    process = subprocess.Popen(
        [str(VENV_BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return httpx.get(f"{url}/moto-api/", timeout=1).status_code < 500
        except httpx.HTTPError:
            return False

    wait_until(up, timeout=30)
    yield url
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def aws_env(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    env = {
        "AWS_ENDPOINT_URL": moto_endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env
