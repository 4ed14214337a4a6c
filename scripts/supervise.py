"""`make run`'s supervisor: web, worker and collector as child processes, their log lines prefixed with the
part's name, a part that dies restarted with backoff, and every part stopped on Ctrl-C or SIGTERM.

Plain Python without Django (it only starts processes). Each part leads a process group of its own, so the
terminal's Ctrl-C reaches only the supervisor, and a SIGKILL to the group takes the part's children along
(runserver's reloader child, the worker's sentinel and pool). On stop each part's leader gets SIGTERM (it
stops its own children in order: django-q2's cluster never finishes stopping when its workers get SIGTERM
too); what is still running after STOP_TIMEOUT seconds (a worker in the middle of a task, which django-q2
waits for however long it takes) gets SIGKILL, and the broker hands the task out again later.

Each part's lines also go to `<var>/log/<name>.log`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

BACKOFF_FIRST = 1.0
BACKOFF_CAP = 30.0
STEADY_AFTER = 30.0  # a part up this long is healthy again: its next restart starts from the first backoff


@dataclass
class Part:
    """One supervised command: its process, log file and restart backoff."""

    name: str
    argv: list[str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    backoff: float = BACKOFF_FIRST
    restart_at: float | None = None
    restarts: int = 0
    readers: list[threading.Thread] = field(default_factory=list)


class Supervisor:
    def __init__(self, parts: list[Part], *, stop_timeout: float, out: IO[str] = sys.stdout) -> None:
        self.parts = parts
        self.stop_timeout = stop_timeout
        self.out = out
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.width = max(len(p.name) for p in parts)

    def say(self, name: str, line: str) -> None:
        with self.lock:
            self.out.write(f"{name:<{self.width}} | {line}\n")
            self.out.flush()

    def start(self, part: Part) -> None:
        part.log_path.parent.mkdir(parents=True, exist_ok=True)
        part.process = subprocess.Popen(
            part.argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        part.started_at = time.monotonic()
        part.restart_at = None
        reader = threading.Thread(target=self.relay, args=(part, part.process), daemon=True)
        reader.start()
        part.readers = [reader]
        self.say("supervise", f"started {part.name} (pid {part.process.pid})")

    def relay(self, part: Part, process: subprocess.Popen[bytes]) -> None:
        """Copy the part's output, line by line, to our output (prefixed) and to its log file."""
        assert process.stdout is not None
        with part.log_path.open("ab") as log:
            for raw in iter(process.stdout.readline, b""):
                log.write(raw)
                log.flush()
                self.say(part.name, raw.decode(errors="replace").rstrip("\n"))

    def check(self, part: Part, now: float) -> None:
        """Restart a part that ended, after its backoff; the backoff doubles while it keeps dying."""
        if part.process is None:
            return
        if part.restart_at is not None:
            if now >= part.restart_at:
                part.restarts += 1
                self.start(part)
            return
        code = part.process.poll()
        if code is None:
            return
        kill_group(part.process.pid)  # children it left behind (a reloader's child holding the port)
        if now - part.started_at >= STEADY_AFTER:
            part.backoff = BACKOFF_FIRST
        part.restart_at = now + part.backoff
        self.say("supervise", f"{part.name} exited with code {code}; restarting in {part.backoff:.0f} s")
        part.backoff = min(part.backoff * 2, BACKOFF_CAP)

    def run(self) -> int:
        for part in self.parts:
            self.start(part)
        while not self.stopping.wait(0.2):
            now = time.monotonic()
            for part in self.parts:
                self.check(part, now)
        return self.stop()

    def stop(self) -> int:
        self.say("supervise", f"stopping (at most {self.stop_timeout:g} s)…")
        running = [p.process for p in self.parts if p.process is not None and p.process.poll() is None]
        for process in running:
            with_suppressed(os.kill, process.pid, signal.SIGTERM)
        deadline = time.monotonic() + self.stop_timeout
        while any(group_alive(p.pid) for p in running) and time.monotonic() < deadline:
            time.sleep(0.1)
        if any(group_alive(p.pid) for p in running):
            self.say("supervise", f"still running after {self.stop_timeout:g} s (a task in progress?): "
                     "killing what is left")  # fmt: skip
        for process in running:
            kill_group(process.pid)
            process.wait()
        for part in self.parts:
            for reader in part.readers:
                reader.join(timeout=1)
        return 0


def with_suppressed(call: Callable[..., object], *args: object) -> None:
    with contextlib.suppress(ProcessLookupError):
        call(*args)


def kill_group(pgid: int) -> None:
    with_suppressed(os.killpg, pgid, signal.SIGKILL)


def group_alive(pgid: int) -> bool:
    """Whether any process of the group still runs (a zombie leader alone does not count)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


def embedded_parts(*, python: str, var: Path, portal_port: int, collector_port: int) -> list[Part]:
    """The embedded default: the worker (django-q2, ORM broker), the collector writing the local lake, and
    the development web server. Local development: any page origin may send (still echoed), and data
    reaches the lake within 10 s."""
    logs = var / "log"
    cors = os.environ.get("COLLECTOR_CORS_ORIGINS", "*")
    collector = [python, "-m", "ingestion", "serve", "--host", "127.0.0.1", "--port", str(collector_port)]
    collector += ["--sink", f"file://{var}/lake", "--allowlist-file", str(var / "allowlist.json")]
    collector += ["--cors-origins", cors, "--batch-seconds", "10"]
    collector += ["--spool-dir", str(var / "collector-spool")]
    # Only processes on this machine reach it: their X-Forwarded-For is honoured, so the load generator's
    # (and the demo's) users come from several countries.
    collector += ["--trusted-proxies", "127.0.0.1/32,::1/128"]
    return [
        Part("worker", [python, "manage.py", "qcluster"], logs / "worker.log"),
        Part("collector", collector, logs / "collector.log"),
        Part("web", [python, "manage.py", "runserver", f"127.0.0.1:{portal_port}"], logs / "web.log"),
    ]


def main() -> int:
    var = Path(os.environ["CLICKSTREAM_VAR_DIR"])
    portal_port = int(os.environ.get("PORTAL_PORT", "8000"))
    collector_port = int(os.environ.get("COLLECTOR_PORT", "8001"))
    parts = embedded_parts(
        python=sys.executable, var=var, portal_port=portal_port, collector_port=collector_port
    )
    supervisor = Supervisor(parts, stop_timeout=float(os.environ.get("STOP_TIMEOUT", "6")))

    def on_signal(signum: int, frame: object) -> None:
        supervisor.stopping.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    supervisor.say("supervise", f"collector: http://127.0.0.1:{collector_port}/collect")
    supervisor.say(
        "supervise", f"portal:    http://127.0.0.1:{portal_port}/  (health: /health/ and /api/v1/health)"
    )
    supervisor.say("supervise", f"API docs:  http://127.0.0.1:{portal_port}/api/v1/docs/")
    supervisor.say("supervise", f"logs:      {var / 'log'} — press Ctrl-C to stop everything")
    return supervisor.run()


if __name__ == "__main__":
    sys.exit(main())
