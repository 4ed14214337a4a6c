"""Where an AWS pipeline lives: the connected account (by the uuid its spec names) and the region."""

from __future__ import annotations

from pipelines.models import Pipeline
from portal.models.aws import AwsAccount


class NoAccount(Exception):
    """The pipeline names an AWS account that is no longer connected: say which, and what to do."""


def pipeline_region(pipeline: Pipeline) -> str:
    return str((pipeline.spec.get("aws") or {}).get("region") or "")


def pipeline_account(pipeline: Pipeline) -> AwsAccount:
    uuid = str((pipeline.spec.get("aws") or {}).get("account") or "")
    account = (
        AwsAccount.objects.for_organization(pipeline.organization).filter(uuid=uuid).first() if uuid else None
    )
    if account is None:
        raise NoAccount(
            f"The pipeline of {pipeline.project.project_id} names AWS account {uuid or '(none)'}, which is not "
            "connected to this organization: connect it again under AWS accounts."
        )
    return account
