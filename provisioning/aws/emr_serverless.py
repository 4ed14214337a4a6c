"""EMR Serverless, as an update of the DataProcessing stack needs it: an application can be changed only when
it is stopped, and stopping it under a running job run fails the job (the original's upgrade failure, its
issues #59/#60). So the provider waits for the runs, stops the application, updates, and starts it again.
Before the stack's delete the runs are cancelled instead, and the application stopped."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

ACTIVE_RUN_STATES = ["SUBMITTED", "PENDING", "SCHEDULED", "RUNNING", "QUEUED", "CANCELLING"]
STOPPED = ("STOPPED", "CREATED")


def active_runs(emr: Any, *, application_id: str, states: list[str] = ACTIVE_RUN_STATES) -> list[str]:
    """Ids of the application's job runs that have not finished (in `states`)."""
    runs: list[str] = []
    kwargs: dict[str, Any] = {"applicationId": application_id, "states": states}
    while True:
        page = emr.list_job_runs(**kwargs)
        runs += [r["id"] for r in page.get("jobRuns", [])]
        if not page.get("nextToken"):
            return runs
        kwargs["nextToken"] = page["nextToken"]


def job_runs_cancel(emr: Any, *, application_id: str) -> list[str]:
    """Cancel the application's unfinished job runs (those not already being cancelled); their ids."""
    cancellable = [s for s in ACTIVE_RUN_STATES if s != "CANCELLING"]
    ids = active_runs(emr, application_id=application_id, states=cancellable)
    for run in ids:
        emr.cancel_job_run(applicationId=application_id, jobRunId=run)
    return ids


def application_state(emr: Any, *, application_id: str) -> str:
    """The application's state, or '' when it does not exist (nothing to stop)."""
    try:
        return str(emr.get_application(applicationId=application_id)["application"]["state"])
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            return ""
        raise


def application_stop(emr: Any, *, application_id: str) -> None:
    emr.stop_application(applicationId=application_id)


def application_start(emr: Any, *, application_id: str) -> None:
    try:
        emr.start_application(applicationId=application_id)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
            raise
