"""Jobs under real concurrency, on committed data: a real `manage.py qcluster` killed with SIGKILL mid-job,
concurrent enqueues, concurrent claims, the heartbeat against the sweeper, concurrent log writes.

Each thread here has its own database connection, as two web or worker processes would.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection, connections, transaction
from django_q.conf import Conf

from portal.choices import JobStatus
from portal.jobs import job_enqueue, job_run, job_sweep
from portal.models import Job
from tests.conftest import REPO_DIR
from tests.portal import job_kinds  # noqa: F401  registers the test kinds

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tasks go to the ORM broker (the task table) instead of running inline, as in production."""
    monkeypatch.setattr(Conf, "SYNC", False)
    monkeypatch.setattr(Conf, "ORM", "default")


def in_threads(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Run `work(i)` in `count` threads released together; each closes its own connection."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = work(i)
        except BaseException as exc:  # surfaced below, in the test's thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    return results


def wait_for(condition: Callable[[], Any], *, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.1)
    pytest.fail(f"timed out after {timeout} s waiting for {what}")


class Worker:
    """A real `manage.py qcluster` on the test database, in a process group of its own (the cluster forks
    a sentinel, a pusher, a monitor and workers, and SIGKILL must take them all, as a machine crash would)."""

    def __init__(self, log: Path) -> None:
        db = connection.settings_dict
        env = {
            **os.environ,
            "PYTHONPATH": str(REPO_DIR),
            "DJANGO_SETTINGS_MODULE": "tests.portal.worker_settings",
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        }
        self.log = log
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "qcluster"],
            cwd=REPO_DIR,
            env=env,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.kill()  # a graceful stop takes the cluster seconds and is not what is tested


@pytest.fixture
def worker(tmp_path: Path) -> Iterator[Callable[[str], Worker]]:
    started: list[Worker] = []

    def start(name: str) -> Worker:
        started.append(Worker(tmp_path / f"{name}.log"))
        return started[-1]

    yield start
    for w in started:
        w.stop()


def test_a_job_killed_with_its_worker_is_finished_once_by_another(cast, queued, worker):
    job = job_enqueue(
        organization=cast.org_a,
        kind="test.steps",
        name="survives a crash",
        kwargs={"n": 8, "pause": 0.4},
        obj=cast.project_a,
    )
    first = worker("first")

    def midway() -> bool:
        return job.log_lines.filter(attempt=1, message="step 2").exists()

    wait_for(midway, timeout=60, what=f"attempt 1 to take two steps (worker log: {first.log})")
    first.kill()
    job.refresh_from_db()
    assert (job.status, job.attempts) == (JobStatus.RUNNING, 1)
    assert not job.log_lines.filter(message="finished").exists()

    # Nobody renews the lease now; once it has expired the sweeper (here called as the schedule would)
    # gives the job back to the queue, and a new worker takes it.
    wait_for(lambda: job_sweep()["reclaimed"], timeout=job.lease_seconds + 5, what="the lease to expire")
    second = worker("second")
    wait_for(
        lambda: Job.objects.unscoped().filter(pk=job.pk, status=JobStatus.SUCCEEDED).exists(),
        timeout=60,
        what=f"attempt 2 to finish (worker log: {second.log})",
    )
    job.refresh_from_db()
    assert (job.attempts, job.result) == (2, {"finished_by_attempt": 2})
    assert job.log_lines.filter(message="finished").count() == 1
    assert job.log_lines.filter(attempt=2, message="step 8").count() == 1
    assert job.log_lines.filter(attempt=1, message__startswith="worker lost: attempt 1").count() == 1
    time.sleep(1)  # nothing runs it again
    assert Job.objects.unscoped().get(pk=job.pk).attempts == 2


def test_two_concurrent_enqueues_for_one_object_give_one_job(cast, queued):
    from etl.tasks import etl_run_enqueue

    def enqueue(i: int) -> int:
        with transaction.atomic():
            job = etl_run_enqueue(project=cast.project_a)
            time.sleep(0.3)  # hold the insert uncommitted: the other one must wait on the unique index
        return job.pk

    pks = in_threads(2, enqueue)
    assert pks[0] == pks[1]
    assert Job.objects.unscoped().filter(kind="etl.local").count() == 1


def test_two_workers_never_both_run_a_job(cast, queued):
    job = job_enqueue(
        organization=cast.org_a, kind="test.steps", name="claimed once", kwargs={"n": 2, "pause": 0.05}
    )
    in_threads(4, lambda i: job_run(job.pk))
    job.refresh_from_db()
    assert (job.status, job.attempts) == (JobStatus.SUCCEEDED, 1)
    assert job.log_lines.filter(message="finished").count() == 1


def test_the_heartbeat_keeps_a_quiet_job_from_being_reclaimed(cast, queued):
    """A step longer than the lease, without progress calls: only the heartbeat thread renews it."""
    job = job_enqueue(organization=cast.org_a, kind="test.silent", name="quiet", kwargs={"seconds": 3.6})
    sweeping = threading.Event()
    reclaimed: list[int] = []

    def sweep() -> None:
        try:
            while not sweeping.is_set():
                reclaimed.append(job_sweep()["reclaimed"])
                time.sleep(0.25)
        finally:
            connections.close_all()

    sweeper = threading.Thread(target=sweep)
    sweeper.start()
    try:
        job_run(job.pk)
    finally:
        sweeping.set()
        sweeper.join()
    job.refresh_from_db()
    assert job.lease_seconds == 3 and len(reclaimed) > 10 and sum(reclaimed) == 0
    assert (job.status, job.attempts) == (JobStatus.SUCCEEDED, 1)


def test_concurrent_log_lines_are_all_kept(cast, queued):
    job = job_enqueue(organization=cast.org_a, kind="test.steps", name="chatty", kwargs={"n": 0, "pause": 0})

    def write(i: int) -> None:
        for n in range(25):
            job.add_log(f"writer {i} line {n}", level="warning" if n % 2 else "info")

    in_threads(4, write)
    assert job.log_lines.count() == 100
    assert job.log_lines.filter(level="warning").count() == 48
    for i in range(4):
        mine = [line.message for line in job.log_lines.filter(message__startswith=f"writer {i} ")]
        assert mine == [f"writer {i} line {n}" for n in range(25)]  # each writer's lines in its order
