"""Writes with side effects: saving a version, asking for deletion. None of them calls AWS: they record what
is wanted and tell the provisioning app (a signal, after commit), which does the work in the background."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from pipelines.models import Pipeline, PipelineVersion
from pipelines.plan import plan_for, refused_changes
from pipelines.selectors import aws_accounts, project_facts, validation_context
from pipelines.signals import pipeline_change_requested, pipeline_delete_requested, pipeline_saved
from pipelines.spec import PIPELINE_REGIONS, Problem, SpecError, diff, normalized, validate
from portal.models.aws import AwsAccount
from projects.models import Project


class ChangeRefused(Exception):
    """The provider refuses a change now (it is busy with another); the message says what runs."""


class VersionConflict(Exception):
    """The save was based on a version that is no longer current: someone else saved first."""

    def __init__(self, current: int) -> None:
        super().__init__(
            f"Someone else saved this pipeline first (it is now at version {current}). "
            "Reload to see their changes, then make yours again."
        )
        self.current = current


def pipeline_check(*, project: Project, spec: Any, pipeline: Pipeline | None,
                   subnet_azs: dict[str, str] | None = None) -> list[Problem]:  # fmt: skip
    """Every problem with saving `spec` for `project`: the spec's own rules, then (for a live pipeline)
    the changes an update may not make."""
    problems = validate(spec, ctx=validation_context(project=project, subnet_azs=subnet_azs))
    if pipeline is None or pipeline.current_version is None or not isinstance(spec, dict):
        return problems
    facts = project_facts(project=project, pipeline=pipeline)
    old_spec = pipeline.spec
    try:
        refused = refused_changes(
            old_spec=old_spec, new_spec=spec,
            old=plan_for(spec=old_spec, facts=facts), new=plan_for(spec=normalized(spec), facts=facts),
        )  # fmt: skip
    except (TypeError, ValueError, AttributeError):  # a malformed spec: its field problems say why
        return problems
    flagged = {p.path for p in problems}
    return problems + [p for p in refused if p.path not in flagged]


def pipeline_validate(
    *, project: Project, spec: Any, pipeline: Pipeline | None
) -> tuple[list[Problem], list[str]]:
    """Every rule, the account's included: `(problems, look-ups that could not run)`. For an aws spec with a
    connected account, its resources are looked up first (read-only calls), so zone rules see real zones."""
    account = _account_of(project=project, spec=spec)
    if account is None:
        return pipeline_check(project=project, spec=spec, pipeline=pipeline), []
    from pipelines.lookups import account_check
    from portal.aws import aws_session

    region = str(spec["aws"].get("region"))
    check = account_check(
        aws_session(account=account, region=region), spec=spec, account_id=account.account_id
    )
    problems = pipeline_check(project=project, spec=spec, pipeline=pipeline, subnet_azs=check.subnet_azs)
    flagged = {(p.path, p.message) for p in problems}
    return problems + [p for p in check.problems if (p.path, p.message) not in flagged], check.failed


def _account_of(*, project: Project, spec: Any) -> AwsAccount | None:
    if not isinstance(spec, dict) or spec.get("provider") != "aws" or not isinstance(spec.get("aws"), dict):
        return None
    if spec["aws"].get("region") not in PIPELINE_REGIONS:
        return None
    account = str(spec["aws"].get("account") or "")
    return next((a for a in aws_accounts(organization=project.organization) if str(a.uuid) == account), None)


def pipeline_save(*, project: Project, spec: Any, author: Any, expected_version: int,
                  summary: str = "") -> PipelineVersion:  # fmt: skip
    """Record `spec` as the pipeline's next version (creating the pipeline at version 1).

    `expected_version` is the version the editor started from (0 for a new pipeline); any other current
    version means someone saved in between, and the save is refused rather than overwriting their change.
    Saving the current spec again changes nothing and returns the current version.
    """
    with transaction.atomic():
        # The project's row lock orders this save with a deletion of the project (`projects.services`).
        if (
            Project.objects.unscoped()
            .select_for_update()
            .filter(pk=project.pk)
            .values_list("delete_requested", flat=True)
            .first()
        ):
            raise ChangeRefused(f"Project {project} is being deleted; its pipeline cannot change any more.")
        pipeline = (
            Pipeline.objects.for_organization(project.organization)
            .select_for_update(of=("self",))
            .select_related("current_version")
            .filter(project=project)
            .first()
        )
        current = pipeline.version_number if pipeline else 0
        if expected_version != current:
            raise VersionConflict(current)
        if pipeline is not None and pipeline.delete_requested:
            raise SpecError([Problem("", "This pipeline is being deleted; it cannot change any more.")])
        if pipeline is not None:
            pipeline_change_requested.send(sender=Pipeline, pipeline=pipeline)
        problems = pipeline_check(project=project, spec=spec, pipeline=pipeline)
        if problems:
            raise SpecError(problems)
        spec = normalized(spec)
        if pipeline is not None and pipeline.current_version and pipeline.spec == spec:
            return pipeline.current_version
        created = pipeline is None
        if pipeline is None:
            pipeline = _pipeline_create(project=project, provider=spec["provider"])
        version = PipelineVersion.objects.unscoped().create(
            organization=project.organization, pipeline=pipeline, number=current + 1, spec=spec,
            author=author if getattr(author, "is_authenticated", False) else None,
            summary=summary[:500] or change_summary(pipeline.spec if not created else {}, spec),
        )  # fmt: skip
        pipeline.current_version = version
        pipeline.save(update_fields=["current_version", "updated"])
        transaction.on_commit(
            lambda: pipeline_saved.send(sender=Pipeline, pipeline=pipeline, version=version, created=created)
        )
    return version


def _pipeline_create(*, project: Project, provider: str) -> Pipeline:
    try:
        with transaction.atomic():
            return Pipeline.objects.unscoped().create(
                organization=project.organization, project=project, provider=provider
            )
    except IntegrityError:  # another request created it between our read and this insert
        raise VersionConflict(1) from None


def change_summary(old: dict[str, Any], new: dict[str, Any]) -> str:
    if not old:
        return "Created."
    paths = [path for path, _, _ in diff(old, new)]
    text = "Changed " + ", ".join(paths) + "."
    return text if len(text) <= 500 else text[:497] + "..."


def pipeline_delete_request(*, pipeline: Pipeline, delete_data: bool = False) -> Pipeline:
    """Ask the provider to remove the pipeline's resources (its data too if `delete_data`); it calls
    `pipeline_remove` when they are gone."""
    with transaction.atomic():
        locked = (
            Pipeline.objects.for_organization(pipeline.organization).select_for_update().get(pk=pipeline.pk)
        )
        if locked.delete_requested is None:
            pipeline_change_requested.send(sender=Pipeline, pipeline=locked)
            locked.delete_requested = timezone.now()
            locked.save(update_fields=["delete_requested", "updated"])
            transaction.on_commit(
                lambda: pipeline_delete_requested.send(
                    sender=Pipeline, pipeline=locked, delete_data=delete_data
                )
            )
    return locked


def pipeline_remove(*, pipeline: Pipeline) -> None:
    """The last step of a deletion, for the provider once nothing is left in the account or on disk. A
    project being deleted (`projects.services.project_delete`) goes with it, and its apps."""
    with transaction.atomic():
        project_pk = pipeline.project_id
        pipeline.delete()
        Project.objects.unscoped().filter(pk=project_pk, delete_requested__isnull=False).delete()
