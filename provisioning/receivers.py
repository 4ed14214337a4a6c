"""What the provisioning app does when a pipeline or an app changes (signals, so lower apps need not import us).

App changes re-parameterize the running pipeline (§3.11): the allow-list and processing inputs contain the
app ids and zones, so a changed plan is an Update; a change that leaves the plan as it is (the first events
filling `data_since`) starts nothing.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver

from pipelines.models import Pipeline
from pipelines.services import ChangeRefused, pipeline_delete_request
from pipelines.signals import pipeline_change_requested, pipeline_delete_requested, pipeline_saved
from projects.models import App, Project
from projects.services import DeleteRefused
from projects.signals import project_delete_requested
from projects.validators import split_emails
from provisioning.choices import Action
from provisioning.models import PipelineResource
from provisioning.providers import provider_available, provider_for
from provisioning.services import PipelineBusy, deployment_request, pipeline_busy_check


@receiver(pipeline_saved)
def on_pipeline_saved(sender: Any, pipeline: Pipeline, created: bool, **kwargs: Any) -> None:
    if not provider_available(pipeline):
        return  # recorded; its provider picks it up when it exists
    deployment_request(pipeline=pipeline, action=Action.CREATE if created else Action.UPDATE)


@receiver(pipeline_delete_requested)
def on_delete_requested(sender: Any, pipeline: Pipeline, delete_data: bool = False, **kwargs: Any) -> None:
    if not provider_available(pipeline):
        return
    deployment_request(pipeline=pipeline, action=Action.DELETE, delete_data=delete_data)


@receiver(project_delete_requested)
def on_project_delete_requested(sender: Any, project: Project, **kwargs: Any) -> None:
    """A project with a pipeline goes after it: its deletion is the pipeline's (every resource deleted and
    reported, failures retried from the pipeline's status), and `pipeline_remove` then removes the project.
    Refused, as the pipeline's own delete is, while the pipeline is busy with another change."""
    pipeline = Pipeline.objects.unscoped().select_related("organization").get(project=project)
    try:
        pipeline_delete_request(pipeline=pipeline)
    except ChangeRefused as exc:
        raise DeleteRefused(f"Project {project} cannot be deleted yet: {exc}") from None


@receiver(pipeline_change_requested)
def on_change_requested(sender: Any, pipeline: Pipeline, **kwargs: Any) -> None:
    if not provider_available(pipeline):
        return
    try:
        pipeline_busy_check(pipeline=pipeline)
    except PipelineBusy as exc:
        raise ChangeRefused(str(exc)) from None


@receiver(post_save, sender=App)
@receiver(post_delete, sender=App)
def on_app_changed(sender: Any, instance: App, **kwargs: Any) -> None:
    project_pk = instance.project_id
    transaction.on_commit(lambda: _app_changed(project_pk))


def _app_changed(project_pk: int) -> None:
    pipeline = (
        Pipeline.objects.unscoped().filter(project_id=project_pk, delete_requested__isnull=True).first()
    )
    if pipeline is None or pipeline.current_version is None or not provider_available(pipeline):
        return
    desired = {d.name: d.inputs_hash for d in provider_for(pipeline).plan(pipeline)}
    tried = dict(
        PipelineResource.objects.unscoped().filter(pipeline=pipeline).values_list("name", "inputs_hash")
    )
    if desired != {n: tried.get(n) for n in desired}:
        deployment_request(pipeline=pipeline, action=Action.UPDATE)


@receiver(pre_save, sender=Project)
def on_project_saving(sender: Any, instance: Project, **kwargs: Any) -> None:
    """Remember the addresses before the save, so the save can tell whether they changed."""
    if instance.pk:
        before = Project.objects.unscoped().filter(pk=instance.pk).values_list("emails", flat=True).first()
        instance._emails_before = before  # type: ignore[attr-defined]


@receiver(post_save, sender=Project)
def on_project_saved(sender: Any, instance: Project, created: bool, **kwargs: Any) -> None:
    """The notification e-mails changed: sync the pipeline's alarm topic in a job (never AWS in the request)."""
    before = getattr(instance, "_emails_before", None)
    if created or before is None or split_emails(before) == instance.email_list:
        return
    project_pk = instance.pk
    transaction.on_commit(lambda: notifications_enqueue(project_pk=project_pk))


def notifications_enqueue(*, project_pk: int) -> None:
    from portal.jobs import job_enqueue
    from provisioning.tasks import NOTIFICATIONS_KIND

    pipeline = (
        Pipeline.objects.unscoped()
        .select_related("project", "organization")
        .filter(project_id=project_pk, provider="aws", delete_requested__isnull=True)
        .first()
    )
    if pipeline is not None:
        job_enqueue(organization=pipeline.organization, kind=NOTIFICATIONS_KIND, obj=pipeline,
                    name=f"Alarm e-mails — {pipeline.project.project_id}", kwargs={"pipeline_pk": pipeline.pk})  # fmt: skip
