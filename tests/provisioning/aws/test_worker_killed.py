"""A real worker killed in the middle of a stack's create: another worker finishes the pipeline, once.

Two real `manage.py qcluster` processes against `moto_server` over HTTP (`AWS_ENDPOINT_URL`; the server runs
in threads of this test process, so the moto patches of conftest apply to it). The first is SIGKILLed (its
whole process group) after the Metrics stack's change set was executed but before its record was committed;
the sweeper gives the job back, and the second worker converges: the pipeline is Active, and each module has
exactly one stack (none deleted and made again: the change set's client token finds the executed one).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import boto3
import pytest
from django.db import connection
from django_q.conf import Conf

from pipelines.services import pipeline_save
from portal.choices import JobStatus
from portal.jobs import job_sweep
from portal.models import Job
from provisioning.choices import PipelineStatus
from provisioning.models import PipelineResource
from provisioning.selectors import pipeline_state
from tests.conftest import REPO_DIR
from tests.portal.test_jobs_concurrency import wait_for
from tests.provisioning.aws.conftest import REGION, moto_spec
from tests.provisioning.aws.test_journey_moto import STACKS
from tests.provisioning.test_reconciler_worker import kill

pytestmark = pytest.mark.django_db(transaction=True)


def start_worker(*, log: Path, pause_file: Path) -> Any:
    import subprocess
    import sys

    db = connection.settings_dict
    env = {
        **os.environ,  # AWS_ENDPOINT_URL (the moto server) and the test credentials
        "PYTHONPATH": str(REPO_DIR),
        "DJANGO_SETTINGS_MODULE": "tests.provisioning.worker_settings",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "CLICKSTREAM_JOB_LEASE_SECONDS": "3",
        "RECONCILER_PAUSE_FILE": str(pause_file),
        "RECONCILER_PAUSE_STEP": "Clickstream-Metrics-",
    }
    return subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=REPO_DIR,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def every_stack() -> list[tuple[str, str]]:
    """Every stack moto knows of, deleted ones too."""
    cfn = boto3.client("cloudformation", region_name=REGION)
    return [(s["StackName"], s["StackStatus"]) for s in cfn.list_stacks()["StackSummaries"]]


def test_a_worker_killed_mid_create_is_finished_once_by_another(
    cast, account, server_network, moto_server, settings, tmp_path, monkeypatch
):
    monkeypatch.setattr(Conf, "SYNC", False)  # tasks go to the ORM broker, for the real workers
    monkeypatch.setattr(Conf, "ORM", "default")
    settings.CLICKSTREAM_JOB_LEASE_SECONDS = 3
    pause_file = tmp_path / "pause"
    pause_file.write_text("armed")
    spec = moto_spec(account, server_network)
    pipeline = pipeline_save(
        project=cast.project_a, spec=spec, author=cast.alice, expected_version=0
    ).pipeline
    names = sorted(s.format(pipeline.pipeline_id) for s in STACKS)
    metrics = f"Clickstream-Metrics-{pipeline.pipeline_id}"
    first = start_worker(log=tmp_path / "first.log", pause_file=pause_file)
    try:
        wait_for(lambda: pause_file.read_text() == "paused", timeout=60,
                 what=f"the first worker to pause mid-create (log: {tmp_path / 'first.log'})")  # fmt: skip
        assert (metrics, "CREATE_COMPLETE") in every_stack()  # made in AWS; its record never committed
        assert PipelineResource.objects.unscoped().get(pipeline=pipeline, name=metrics).state == ""
        kill(first)
    finally:
        kill(first)
    job = Job.objects.unscoped().get(kind="provisioning.reconcile")
    assert job.status == JobStatus.RUNNING
    assert pipeline_state(pipeline=pipeline).status != PipelineStatus.ACTIVE

    pause_file.unlink()  # the second worker runs without the pause
    wait_for(lambda: job_sweep()["reclaimed"], timeout=30, what="the sweeper to reclaim the lost job")
    second = start_worker(log=tmp_path / "second.log", pause_file=pause_file)
    try:
        wait_for(lambda: pipeline_state(pipeline=pipeline).status == PipelineStatus.ACTIVE, timeout=60,
                 what=f"the second worker to converge (log: {tmp_path / 'second.log'})")  # fmt: skip
    finally:
        kill(second)
    assert sorted(every_stack()) == [(n, "CREATE_COMPLETE") for n in names]  # one each, none made twice
    states = PipelineResource.objects.unscoped().filter(pipeline=pipeline).values_list("name", "state")
    assert sorted(states) == [(n, "CREATE_COMPLETE") for n in names]
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and job.attempts == 2
