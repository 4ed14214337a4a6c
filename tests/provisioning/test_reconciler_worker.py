"""A real worker killed in the middle of a reconcile: another worker finishes the pipeline, once.

The first `manage.py qcluster` is SIGKILLed (its whole process group, as a machine crash would) after the
allow-list step's action has run but before its record was committed. The job's lease then expires, the
sweeper gives the job back, and a second worker converges: the pipeline is Active, and every resource exists
exactly once — one allow-list entry, one processing schedule, the lake folders. Without the sweeper's
reclaim the job would stay RUNNING for ever and the wait for Active below would time out.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django_q.conf import Conf
from django_q.models import Schedule

from pipelines.services import pipeline_save
from portal.choices import JobStatus
from portal.jobs import job_sweep
from portal.models import Job
from provisioning.choices import PipelineStatus
from provisioning.models import PipelineResource
from provisioning.selectors import pipeline_state
from tests.conftest import REPO_DIR
from tests.pipelines.specs import local_spec
from tests.portal.test_jobs_concurrency import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def start_worker(*, log: Path, machine: Any, pause_file: Path) -> subprocess.Popen[bytes]:
    db = connection.settings_dict
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO_DIR),
        "DJANGO_SETTINGS_MODULE": "tests.provisioning.worker_settings",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "CLICKSTREAM_LAKE_DIR": str(machine.lake),
        "CLICKSTREAM_ALLOWLIST_FILE": str(machine.allowlist_file),
        "CLICKSTREAM_JOB_LEASE_SECONDS": "3",
        "RECONCILER_PAUSE_FILE": str(pause_file),
    }
    return subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=REPO_DIR,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def kill(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def test_a_worker_killed_mid_reconcile_is_finished_once_by_another(
    cast, machine, settings, tmp_path, monkeypatch
):
    monkeypatch.setattr(Conf, "SYNC", False)  # tasks go to the ORM broker, for the real workers
    monkeypatch.setattr(Conf, "ORM", "default")
    settings.CLICKSTREAM_JOB_LEASE_SECONDS = 3
    pause_file = tmp_path / "pause"
    pause_file.write_text("armed")
    version = pipeline_save(project=cast.project_a, spec=local_spec(), author=cast.alice, expected_version=0)
    pipeline = version.pipeline
    first = start_worker(log=tmp_path / "first.log", machine=machine, pause_file=pause_file)
    try:
        wait_for(
            lambda: pause_file.read_text() == "paused", timeout=60, what="the first worker to pause mid-step"
        )
        assert machine.allowlist() == {"web": "shop"}  # the action ran; its record was never committed
        kill(first)
    finally:
        kill(first)
    job = Job.objects.unscoped().get(kind="provisioning.reconcile")
    assert job.status == JobStatus.RUNNING
    assert pipeline_state(pipeline=pipeline).status != PipelineStatus.ACTIVE

    pause_file.unlink()  # the second worker runs without the pause
    wait_for(lambda: job_sweep()["reclaimed"], timeout=30, what="the sweeper to reclaim the lost job")
    second = start_worker(log=tmp_path / "second.log", machine=machine, pause_file=pause_file)
    try:
        wait_for(
            lambda: pipeline_state(pipeline=pipeline).status == PipelineStatus.ACTIVE,
            timeout=60,
            what=f"the second worker to converge (log: {tmp_path / 'second.log'})",
        )
    finally:
        kill(second)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and job.attempts == 2
    resources = PipelineResource.objects.unscoped().filter(pipeline=pipeline)
    assert sorted(resources.values_list("name", flat=True)) == [
        "allowlist",
        "lake",
        "processing",
        "warehouse",
    ]
    assert set(resources.values_list("state", flat=True)) == {"CREATE_COMPLETE"}
    assert machine.allowlist() == {"web": "shop"}
    assert Schedule.objects.filter(func="provisioning.tasks.processing_enqueue").count() == 1
    assert (machine.lake / "clickstream" / "shop" / "data" / "buffer").is_dir()
