"""The demo: a project with a web and a mobile app on a local pipeline, a few days of realistic traffic sent
through the collector over HTTP, and a processing run, so that the dashboards have data within a minute.

Run by `manage.py demo` and by the demo job (the button on an empty organization's home page). Running it
again in the same organization reuses its project and sends more traffic.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from ingestion.loadgen import Sent, Traffic, send
from pipelines.models import Pipeline
from pipelines.services import pipeline_save
from pipelines.spec import default_spec
from portal.models import Job, Organization
from projects.models import App, Project
from provisioning.choices import PipelineStatus
from provisioning.selectors import pipeline_state

Progress = Callable[[int, str], None]
USERS = 60
DAYS = 3
ACTIVE_WITHIN = 90.0  # seconds for the reconciler (on the worker) to make the local pipeline
LAKE_WITHIN = 60.0  # …and for the collector to ship what it took into the lake


class DemoError(Exception):
    """The demo cannot go on; the message says what to do."""


@dataclass
class DemoResult:
    project: Project
    web: App
    mobile: App
    sent: Sent
    processing: Job


def demo_ids(organization: Organization) -> str:
    """The demo's project id: ids are unique on one machine, so it carries the organization's slug."""
    slug = re.sub(r"[^a-z0-9]+", "_", organization.slug.lower()).strip("_")
    return f"demo_{slug}"[:60]


def demo_run(
    *, organization: Organization, author: Any = None, progress: Progress | None = None
) -> DemoResult:
    say = progress or (lambda percent, step: None)
    project, web, mobile = demo_project(organization=organization, author=author)
    say(10, f"project {project.project_id} with apps {web.app_id} and {mobile.app_id}")
    pipeline = demo_pipeline(project=project, author=author)
    say(15, "waiting for the local pipeline to be Active")
    wait_until_active(pipeline)
    say(40, "pipeline Active; sending traffic to the collector")
    buffered = requests_in_lake(pipeline, [web.app_id, mobile.app_id])
    sent = demo_traffic(web=web, mobile=mobile)
    say(
        60,
        f"{sent.accepted} requests with {sum(sent.events.values())} events accepted from {len(sent.users)} users",
    )
    wait_for_lake(pipeline, [web.app_id, mobile.app_id], buffered + sent.accepted)
    say(80, "the collector shipped them to the lake; processing")
    from etl.tasks import etl_run_enqueue

    job = etl_run_enqueue(project=project)
    say(90, f"processing started (job {job.uuid})")
    return DemoResult(project, web, mobile, sent, job)


def demo_project(*, organization: Organization, author: Any) -> tuple[Project, App, App]:
    project_id = demo_ids(organization)
    taken = Project.objects.unscoped().filter(project_id=project_id).exclude(organization=organization)
    if taken.exists():
        raise DemoError(f"Project id {project_id} is taken on this machine by another organization.")
    project, _ = Project.objects.unscoped().get_or_create(
        organization=organization,
        project_id=project_id,
        defaults={"name": "Demo shop", "emails": "demo@example.com", "description": "Made by the demo."},
    )
    web, _ = App.objects.unscoped().get_or_create(
        organization=organization,
        project=project,
        app_id=f"{project_id}_web",
        defaults={"name": "Shop website", "platforms": ["Web"]},
    )
    mobile, _ = App.objects.unscoped().get_or_create(
        organization=organization,
        project=project,
        app_id=f"{project_id}_mobile",
        defaults={"name": "Shop mobile app", "platforms": ["Android", "iOS"]},
    )
    return project, web, mobile


def demo_pipeline(*, project: Project, author: Any) -> Pipeline:
    pipeline = Pipeline.objects.unscoped().filter(project=project).first()
    if pipeline is None:
        spec = default_spec(provider="local", project_id=project.project_id)
        pipeline_save(project=project, spec=spec, author=author, expected_version=0, summary="The demo")
        pipeline = Pipeline.objects.unscoped().get(project=project)
    elif pipeline.provider != "local":
        raise DemoError(
            f"Project {project.project_id} has a pipeline on {pipeline.provider}, not on this machine."
        )
    return pipeline


def wait_until_active(pipeline: Pipeline, *, within: float = ACTIVE_WITHIN) -> None:
    deadline = time.monotonic() + within
    while True:
        status = pipeline_state(pipeline=pipeline).status
        if status == PipelineStatus.ACTIVE:
            return
        if status == PipelineStatus.FAILED:
            raise DemoError(f"The pipeline failed; see {pipeline.get_absolute_url()} for why.")
        if time.monotonic() > deadline:
            raise DemoError(
                f"The pipeline is still {status.label} after {within:.0f} s: is the worker running "
                "(`manage.py qcluster`; `make run` starts it)?"
            )
        time.sleep(0.5)


def demo_traffic(*, web: App, mobile: App, users: int = USERS, seed: int | None = None) -> Sent:
    """A fixed realistic set (see `ingestion.loadgen`): the first request is retried for a few seconds while
    the collector picks up the allow-list the pipeline just wrote."""
    traffic = Traffic(
        {"Web": web.app_id, "Android": mobile.app_id, "iOS": mobile.app_id}, seed=seed or time.time_ns()
    )
    requests = traffic.history(users=users, days=DAYS, now_ms=int(time.time() * 1000))
    endpoint = settings.CLICKSTREAM_INGESTION_ENDPOINT
    deadline = time.monotonic() + 15
    while True:
        first = send(endpoint, requests[:1])
        if first.accepted or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    if not first.accepted:
        raise DemoError(
            f"The collector at {endpoint} refused the demo's requests ({dict(first.refused)}; 0 means it does "
            "not answer): is it running with the allow-list the portal writes (`make run` starts it)?"
        )
    rest = send(endpoint, requests[1:])
    rest.accepted += first.accepted
    rest.requests += first.requests
    rest.events.update(first.events)
    rest.by_app.update(first.by_app)
    rest.users |= first.users
    return rest


def requests_in_lake(pipeline: Pipeline, app_ids: list[str]) -> int:
    from provisioning.providers.local import project_folder
    from provisioning.traffic import app_traffic

    traffic = app_traffic(buffer=project_folder(pipeline) / "data" / "buffer")
    return sum(traffic[a].last_hour for a in app_ids if a in traffic)


def wait_for_lake(
    pipeline: Pipeline, app_ids: list[str], expected: int, *, within: float = LAKE_WITHIN
) -> None:
    """The collector acknowledges once a record is in its spool and ships a segment when it is old enough
    (`--batch-seconds`): processing now would miss what is still in the spool."""
    deadline = time.monotonic() + within
    while requests_in_lake(pipeline, app_ids) < expected:
        if time.monotonic() > deadline:
            raise DemoError(
                f"The collector had not shipped the demo's requests to the lake after {within:.0f} s."
            )
        time.sleep(0.5)
