"""Background work of analytics, as Job rows: the load after each processing run."""

from __future__ import annotations

from typing import Any

from portal.jobs import job_enqueue, job_kind
from portal.models import Job

JOB_KIND = "analytics.refresh"


def warehouse_refresh_enqueue(*, project: Any) -> Job:
    return job_enqueue(
        organization=project.organization,
        kind=JOB_KIND,
        name=f"Warehouse load — {project.project_id}",
        kwargs={"project_pk": project.pk},
        obj=project,
    )


@job_kind(JOB_KIND, retries=2)
def warehouse_refresh_job(*, job: Job, project_pk: int) -> dict[str, Any]:
    """The job: load the warehouse, then scan metadata; the result records the data version."""
    from analytics.services import warehouse_refresh
    from projects.models import Project

    project = Project.objects.unscoped().get(pk=project_pk)
    job.set_progress(10, "loading the warehouse")
    state = warehouse_refresh(project=project)
    job.add_log(f"loaded data version {state.version}")
    return {"version": state.version, "latest_event": {k: str(v) for k, v in state.latest_event.items()}}
