"""`make run` (scripts/run.sh, then scripts/supervise.py) starts every part, restarts a part that dies, and
stops them all on Ctrl-C within 10 seconds.

The script runs for real, against a var directory of its own and free ports. Ctrl-C is a SIGINT to the
terminal's foreground process group, so the script is started in a group of its own and the group gets the
signal. Idle, every part stops on its SIGTERM; busy (a task running in the worker, which django-q2 waits for
before it exits, however long it takes) the script kills what is left after its timeout. `make run` used to
hang in both cases.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import REPO_DIR

STOP_WITHIN = 10.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def descendants(root: int) -> dict[int, str]:
    """Every live process below `root`, by pid, with its start time (so a reused pid is not mistaken)."""
    children: dict[int, list[int]] = {}
    started: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z":
            children.setdefault(int(fields[1]), []).append(int(entry.name))
            started[int(entry.name)] = fields[19]
    found, todo = {}, [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found[child] = started[child]
            todo.append(child)
    return found


def alive(pid: int, start: str) -> bool:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return fields[0] != "Z" and fields[19] == start


def wait_for(url: str, process: subprocess.Popen, timeout: float) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "scripts/run.sh exited before the portal answered"
        try:
            return httpx.get(url, timeout=2)
        except httpx.TransportError:
            time.sleep(0.3)
    raise AssertionError(f"{url} did not answer within {timeout} s")


def clean_environ(var: Path) -> dict[str, str]:
    """The environment of a fresh checkout (no database, broker or settings of the test run), var elsewhere."""
    dropped = ("DJANGO_", "DATABASE_", "REDIS_", "SECRET_", "ALLOWED_", "DEBUG", "CLICKSTREAM_", "PYTHONPATH")
    environ = {key: value for key, value in os.environ.items() if not key.startswith(dropped)}
    return {**environ, "CLICKSTREAM_VAR_DIR": str(var)}


@pytest.fixture(scope="module")
def migrated(tmp_path_factory) -> Path:
    """A var directory whose SQLite database is migrated once; each test starts from a copy (the script's
    own `migrate` then has nothing to do)."""
    var = tmp_path_factory.mktemp("var")
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input", "--settings=portal.settings.base"],
        env=clean_environ(var),
        cwd=REPO_DIR,
        check=True,
        capture_output=True,
        timeout=120,
    )
    return var


@pytest.mark.parametrize("busy", [False, True], ids=["idle", "task-running"])
def test_make_run_serves_and_stops_every_part_on_ctrl_c(tmp_path, migrated, busy):
    process, environ, output = start_run_script(tmp_path, migrated)
    var = Path(environ["CLICKSTREAM_VAR_DIR"])
    portal, collector = environ["PORTAL_PORT"], environ["COLLECTOR_PORT"]
    parts: dict[int, str] = {}
    try:
        assert wait_for(f"http://127.0.0.1:{portal}/accounts/login/", process, 90).status_code == 200
        assert wait_for(f"http://127.0.0.1:{collector}/ping", process, 20).status_code == 200
        # Static files are served without DEBUG (whitenoise).
        assert httpx.get(f"http://127.0.0.1:{portal}/static/css/portal.css").status_code == 200
        if not busy:
            # The open health report sees the worker's heartbeat and the collector beside the portal.
            health = wait_for_health(f"http://127.0.0.1:{portal}/api/v1/health", ("queue", "collector"))
            assert health["parts"]["database"]["status"] == "ok", health
        if busy:
            enqueue_a_long_task(environ)
            wait_until_the_worker_runs_it(var)
        else:
            time.sleep(2)  # the worker's pool is up
        parts = descendants(process.pid)
        commands = " ".join(Path(f"/proc/{pid}/cmdline").read_text() for pid in parts)
        assert all(part in commands for part in ("runserver", "qcluster", "ingestion")), commands
        stopped = time.monotonic()
        os.killpg(process.pid, signal.SIGINT)
        process.wait(timeout=STOP_WITHIN + 5)
        while any(alive(pid, start) for pid, start in parts.items()) and time.monotonic() - stopped < 15:
            time.sleep(0.1)
        took = time.monotonic() - stopped
        left = [pid for pid, start in parts.items() if alive(pid, start)]
        assert not left and took < STOP_WITHIN, f"{len(left)} parts still running after {took:.1f} s"
        said = output.read_text(errors="replace")
        assert ("killing what is left" in said) is busy, said[-2000:]
    finally:
        stop_everything(process, parts)


def stop_everything(process: subprocess.Popen, parts: dict[int, str]) -> None:
    for pid, start in {**parts, **descendants(process.pid)}.items():
        if alive(pid, start):
            os.kill(pid, signal.SIGKILL)
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def start_run_script(tmp_path: Path, migrated: Path) -> tuple[subprocess.Popen, dict[str, str], Path]:
    var = tmp_path / "var"
    shutil.copytree(migrated, var)
    environ = {**clean_environ(var), "PORTAL_PORT": str(free_port()), "COLLECTOR_PORT": str(free_port())}
    output = tmp_path / "output.log"
    process = subprocess.Popen(
        ["bash", str(REPO_DIR / "scripts" / "run.sh")],
        env=environ,
        stdout=output.open("wb"),
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    return process, environ, output


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def part_leader(process: subprocess.Popen, word: str) -> int:
    """The pid of the supervisor's child whose command line has `word`."""
    for pid in descendants(process.pid):
        try:
            parent = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
            command = Path(f"/proc/{pid}/cmdline").read_text()
        except OSError:
            continue
        if parent == process.pid and word in command:
            return pid
    raise AssertionError(f"no part running {word}")


def test_a_part_that_dies_is_restarted_and_its_lines_carry_its_name(tmp_path, migrated):
    process, environ, output = start_run_script(tmp_path, migrated)
    portal, collector = environ["PORTAL_PORT"], environ["COLLECTOR_PORT"]
    parts: dict[int, str] = {}
    try:
        wait_for(f"http://127.0.0.1:{portal}/accounts/login/", process, 90)
        wait_for(f"http://127.0.0.1:{collector}/ping", process, 20)
        first = part_leader(process, "ingestion")
        os.kill(first, signal.SIGKILL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                second = part_leader(process, "ingestion")
            except AssertionError:
                second = first
            if second != first and answers(f"http://127.0.0.1:{collector}/ping"):
                break
            time.sleep(0.3)
        else:
            raise AssertionError(f"the collector was not restarted:\n{output.read_text()[-2000:]}")
        said = output.read_text(errors="replace")
        assert "collector exited with code -9; restarting in 1 s" in said, said[-2000:]
        assert any(line.startswith("web ") and "|" in line for line in said.splitlines()), said[-2000:]
        parts = descendants(process.pid)
        os.killpg(process.pid, signal.SIGINT)
        process.wait(timeout=STOP_WITHIN + 5)
        deadline = time.monotonic() + 5
        while any(alive(pid, start) for pid, start in parts.items()) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [pid for pid, start in parts.items() if alive(pid, start)], "orphans left behind"
    finally:
        stop_everything(process, parts)


def wait_for_health(url: str, parts: tuple[str, ...], timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        body = httpx.get(url, timeout=10).json()
        if all(body["parts"][part]["status"] == "ok" for part in parts) or time.monotonic() > deadline:
            assert all(body["parts"][part]["status"] == "ok" for part in parts), body
            return body
        time.sleep(0.5)


def enqueue_a_long_task(environ: dict[str, str]) -> None:
    code = "from django_q.tasks import async_task; async_task('time.sleep', 120)"
    subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        env={**environ, "DJANGO_SETTINGS_MODULE": "portal.settings.base"},
        cwd=REPO_DIR,
        check=True,
        timeout=60,
    )


def wait_until_the_worker_runs_it(var: Path) -> None:
    """The ORM broker hands the task out within its poll interval; the worker logs when it starts one."""
    log = var / "log" / "worker.log"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if log.exists() and "processing" in log.read_text():
            return
        time.sleep(0.3)
    raise AssertionError(f"the worker did not start the task:\n{log.read_text() if log.exists() else ''}")
