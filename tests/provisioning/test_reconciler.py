"""The reconciler over the local provider: create, update, delete; idempotence; crashes after every step;
two workers on one pipeline; refusals and retry."""

from __future__ import annotations

import shutil
import threading

import pytest
from django.db import connection
from django_q.models import Schedule

from pipelines import services as pipeline_services
from pipelines.models import Pipeline
from projects.models import App
from provisioning import reconciler
from provisioning.choices import PipelineStatus
from provisioning.models import PipelineResource
from provisioning.reconciler import reconcile
from provisioning.selectors import pipeline_state
from tests.pipelines.specs import local_spec

pytestmark = pytest.mark.django_db


def schedules():  # type: ignore[no-untyped-def]
    return Schedule.objects.filter(func="provisioning.tasks.processing_enqueue")


def states(pipeline: Pipeline) -> dict[str, str]:
    return dict(PipelineResource.objects.unscoped().filter(pipeline=pipeline).values_list("name", "state"))


def snapshot(pipeline: Pipeline, machine) -> dict:  # type: ignore[no-untyped-def]
    """Everything a run leaves behind that must be the same however it got there."""
    rows = PipelineResource.objects.unscoped().filter(pipeline=pipeline).order_by("name")
    return {
        "resources": [(r.name, r.state, r.applied_hash, r.applied_version, r.reason) for r in rows],
        "allowlist": machine.allowlist(),
        "schedules": list(schedules().values_list("func", "args", "minutes")),
        "folders": sorted(str(p.relative_to(machine.lake)) for p in machine.lake.rglob("*")),
    }


def test_create_makes_every_step_real(cast, machine, save):
    version = save(cast.project_a, local_spec())
    pipeline = version.pipeline
    assert states(pipeline) == {
        n: "CREATE_COMPLETE" for n in ("lake", "allowlist", "processing", "warehouse")
    }
    assert machine.allowlist() == {"web": "shop"}
    root = machine.lake / "clickstream" / "shop"
    assert (root / "data" / "buffer").is_dir() and (root / "warehouse.duckdb").is_file()
    schedule = schedules().get()
    assert schedule.func == "provisioning.tasks.processing_enqueue" and schedule.minutes == 60
    assert schedule.args == repr((cast.project_a.pk,))
    state = pipeline_state(pipeline=pipeline)
    assert state.status == PipelineStatus.ACTIVE and state.percent == 100
    pipeline.refresh_from_db()
    assert pipeline.ingestion_endpoint == "http://127.0.0.1:8001/collect"


def test_applying_the_same_version_twice_does_nothing(cast, machine, save):
    pipeline = save(cast.project_a, local_spec()).pipeline
    before = list(
        PipelineResource.objects.unscoped().filter(pipeline=pipeline).values_list("name", "events", "updated")
    )
    assert reconcile(pipeline_pk=pipeline.pk).steps == []
    after = list(
        PipelineResource.objects.unscoped().filter(pipeline=pipeline).values_list("name", "events", "updated")
    )
    assert before == after


def test_an_update_touches_only_what_changed(cast, machine, save):
    pipeline = save(cast.project_a, local_spec()).pipeline
    spec = local_spec()
    spec["processing"]["schedule"] = "rate(30 minutes)"
    save(cast.project_a, spec)
    assert states(pipeline) == {"lake": "CREATE_COMPLETE", "allowlist": "CREATE_COMPLETE",
                                "processing": "UPDATE_COMPLETE", "warehouse": "CREATE_COMPLETE"}  # fmt: skip
    assert schedules().get().minutes == 30


def test_apps_added_and_removed_are_published(cast, machine, save, django_capture_on_commit_callbacks):
    pipeline = save(cast.project_a, local_spec()).pipeline
    with django_capture_on_commit_callbacks(execute=True):
        App.objects.unscoped().create(
            organization=cast.org_a, project=cast.project_a, app_id="ios", name="iOS"
        )
    assert machine.allowlist() == {"web": "shop", "ios": "shop"}
    assert pipeline_state(pipeline=pipeline).action == "Update"
    with django_capture_on_commit_callbacks(execute=True):
        cast.app_a.delete()
    assert machine.allowlist() == {"ios": "shop"}


def other_project(cast, project_id="store"):  # type: ignore[no-untyped-def]
    """A project of organization B with an app whose id ("web") organization A's project uses already."""
    from projects.models import Project

    project = Project.objects.unscoped().create(organization=cast.org_b, project_id=project_id, name="Store",
                                                emails="ops@globex.example")  # fmt: skip
    App.objects.unscoped().create(organization=cast.org_b, project=project, app_id="web", name="Web")
    return project


def test_an_app_id_another_project_serves_is_refused_with_a_message(cast, machine, save):
    save(cast.project_a, local_spec())
    other = save(other_project(cast), local_spec()).pipeline
    record = PipelineResource.objects.unscoped().get(pipeline=other, name="allowlist")
    assert record.state == "CREATE_FAILED"
    assert "App id web is already served by another project on this collector" in record.reason
    assert "shop" not in record.reason  # it does not tell whose: another organization's business
    assert machine.allowlist() == {"web": "shop"}  # the first project keeps it
    assert pipeline_state(pipeline=other).status == PipelineStatus.FAILED
    assert states(other)["processing"] == "CREATE_COMPLETE"  # does not depend on the allow-list


def test_a_project_id_another_organization_uses_on_this_machine_is_refused(cast, machine, save):
    """Both organizations have a project "shop": their lake folders would be one; the second is refused
    before anything is written, and the first's folder and entries stay."""
    save(cast.project_a, local_spec())
    other = save(cast.project_b, local_spec()).pipeline
    lake = PipelineResource.objects.unscoped().get(pipeline=other, name="lake")
    assert lake.state == "CREATE_FAILED" and "project ids must be unique on one machine" in lake.reason
    assert states(other)["allowlist"] == "" and machine.allowlist() == {"web": "shop"}
    assert pipeline_state(pipeline=other).status == PipelineStatus.FAILED


def test_retry_acts_only_on_failed_resources_and_their_dependents(
    cast, machine, save, django_capture_on_commit_callbacks
):
    from provisioning.services import NothingToRetry, pipeline_retry

    first = save(cast.project_a, local_spec()).pipeline
    other = save(other_project(cast), local_spec()).pipeline
    untouched = list(PipelineResource.objects.unscoped().filter(pipeline=other).exclude(name="allowlist")
                     .values_list("name", "updated"))  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        pipeline_services.pipeline_delete_request(pipeline=first)  # frees the app id
    with django_capture_on_commit_callbacks(execute=True):
        pipeline_retry(pipeline=other)
    assert states(other)["allowlist"] == "CREATE_COMPLETE" and machine.allowlist() == {"web": "store"}
    assert list(PipelineResource.objects.unscoped().filter(pipeline=other).exclude(name="allowlist")
                .values_list("name", "updated")) == untouched  # fmt: skip
    with pytest.raises(NothingToRetry):
        pipeline_retry(pipeline=other)


def test_delete_keeps_the_data_unless_asked(cast, machine, save, django_capture_on_commit_callbacks):
    pipeline = save(cast.project_a, local_spec()).pipeline
    with django_capture_on_commit_callbacks(execute=True):
        pipeline_services.pipeline_delete_request(pipeline=pipeline)
    assert not Pipeline.objects.unscoped().filter(pk=pipeline.pk).exists()
    assert machine.allowlist() == {} and not schedules().exists()
    assert (machine.lake / "clickstream" / "shop" / "warehouse.duckdb").is_file()
    pipeline = save(cast.project_a, local_spec()).pipeline
    with django_capture_on_commit_callbacks(execute=True):
        pipeline_services.pipeline_delete_request(pipeline=pipeline, delete_data=True)
    assert not (machine.lake / "clickstream" / "shop").exists()


def test_editing_a_busy_pipeline_is_refused_saying_what_runs(cast, machine, save):
    pipeline = save(cast.project_a, local_spec()).pipeline
    PipelineResource.objects.unscoped().filter(pipeline=pipeline, name="processing").update(
        state="UPDATE_IN_PROGRESS"
    )
    spec = local_spec()
    spec["processing"]["schedule"] = "rate(2 hours)"
    with pytest.raises(
        pipeline_services.ChangeRefused, match=r"creating \(3 of 4 steps done; running: processing\)"
    ):
        save(cast.project_a, spec)
    with pytest.raises(pipeline_services.ChangeRefused):
        pipeline_services.pipeline_delete_request(pipeline=pipeline)


class Crash(Exception):
    pass


def crash_at(n: int):  # type: ignore[no-untyped-def]
    """A hook that raises at the n-th crash point it passes (counting every point of every step)."""
    seen = {"count": 0}

    def hook(name: str, point: str) -> None:
        seen["count"] += 1
        if seen["count"] == n:
            raise Crash(f"{name} {point}")

    return hook


def converge(pipeline_pk: int) -> None:
    reconciler.CRASH_HOOK = None
    reconcile(pipeline_pk=pipeline_pk)


def run_with_crashes(pipeline_pk: int, n: int) -> bool:
    """Reconcile with a crash at point n; then run again without. Returns whether the crash happened."""
    reconciler.CRASH_HOOK = crash_at(n)
    try:
        reconcile(pipeline_pk=pipeline_pk)
    except Crash:
        converge(pipeline_pk)
        return True
    finally:
        reconciler.CRASH_HOOK = None
    return False


def test_a_crash_after_any_step_of_create_update_and_delete_converges(cast, machine, settings):
    """Every crash point of every step (before an action, after it but before its record, after the
    commit), for a create, an update and a delete: a second run ends where a run without crashes ends,
    with nothing done twice that shows (one schedule, one allow-list entry) and nothing lost."""
    from pipelines.services import pipeline_save

    def fresh() -> Pipeline:
        schedules().all().delete()
        return pipeline_save(
            project=cast.project_a, spec=local_spec(), author=None, expected_version=0
        ).pipeline

    clean = fresh()
    reconcile(pipeline_pk=clean.pk)
    expected_create = snapshot(clean, machine)
    n, crashed = 1, True
    while crashed:
        Pipeline.objects.unscoped().filter(pk=clean.pk).delete()
        machine.allowlist_file.unlink(missing_ok=True)
        shutil.rmtree(machine.lake, ignore_errors=True)
        pipeline = fresh()
        crashed = run_with_crashes(pipeline.pk, n)
        assert snapshot(pipeline, machine) == expected_create, f"create, crash point {n}"
        n += 1
        clean = pipeline
    assert n > 12  # four steps, three points each: every one was crashed at

    pipeline = clean
    base = pipeline.version_number
    for n in range(1, 4):  # an update has one step (the schedule): crash at each of its points
        spec = local_spec()
        spec["processing"]["schedule"] = f"rate({20 + n} minutes)"
        base = pipeline_save(project=cast.project_a, spec=spec, author=None, expected_version=base).number
        assert run_with_crashes(pipeline.pk, n), f"update, crash point {n}"
        assert states(pipeline)["processing"] == "UPDATE_COMPLETE"
        assert set(states(pipeline).values()) <= {"CREATE_COMPLETE", "UPDATE_COMPLETE"}
        assert schedules().get().minutes == 20 + n and machine.allowlist() == {"web": "shop"}

    for n in range(1, 13):
        pipeline = Pipeline.objects.unscoped().filter(project=cast.project_a).first() or fresh()
        reconcile(pipeline_pk=pipeline.pk)
        pipeline.delete_requested = pipeline.updated
        pipeline.save(update_fields=["delete_requested"])
        assert run_with_crashes(pipeline.pk, n)
        assert not Pipeline.objects.unscoped().filter(pk=pipeline.pk).exists(), f"delete, crash point {n}"
        assert machine.allowlist() == {} and not schedules().exists()


@pytest.mark.django_db(transaction=True)
def test_two_workers_reconciling_one_pipeline_never_both_act(cast, machine):
    """Two threads (two database connections) reconcile at once: the row lock makes the second wait for
    the first's step, then see it recorded — each action happens once."""
    from pipelines.services import pipeline_save
    from pipelines.signals import pipeline_saved
    from provisioning.providers.local import LocalProvider
    from provisioning.receivers import on_pipeline_saved

    pipeline_saved.disconnect(on_pipeline_saved)  # the save commits here: keep it from reconciling at once
    try:
        pipeline = pipeline_save(
            project=cast.project_a, spec=local_spec(), author=None, expected_version=0
        ).pipeline
    finally:
        pipeline_saved.connect(on_pipeline_saved)
    actions: list[str] = []
    original = LocalProvider.apply

    def slow_apply(self, pipeline, desired, *, record):  # type: ignore[no-untyped-def]
        actions.append(desired.name)
        threading.Event().wait(0.05)
        return original(self, pipeline, desired, record=record)

    LocalProvider.apply = slow_apply  # type: ignore[method-assign]
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            reconcile(pipeline_pk=pipeline.pk)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    try:
        threads = [threading.Thread(target=worker) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    finally:
        LocalProvider.apply = original  # type: ignore[method-assign]
    assert not errors
    assert sorted(actions) == ["allowlist", "lake", "processing", "warehouse"]
    assert set(states(pipeline).values()) == {"CREATE_COMPLETE"}


def test_the_reconciler_runs_as_a_job_once_per_pipeline_with_its_steps_logged(cast, machine, save):
    from portal.choices import JobStatus
    from portal.models import Job
    from provisioning.services import reconcile_enqueue

    pipeline = save(cast.project_a, local_spec()).pipeline
    job = Job.objects.unscoped().get(kind="provisioning.reconcile")
    assert job.status == JobStatus.SUCCEEDED and job.result["steps"][:2] == ["apply lake", "apply allowlist"]
    assert "apply warehouse" in [line.message for line in job.log_lines.all()]
    Job.objects.unscoped().filter(pk=job.pk).update(status=JobStatus.RUNNING)  # a run still going…
    assert reconcile_enqueue(pipeline=pipeline).pk == job.pk  # …is not doubled, and a follow-up is booked
    follow_up = Schedule.objects.get(func="provisioning.tasks.reconcile_follow_up")
    assert follow_up.args == repr((pipeline.pk,)) and follow_up.schedule_type == Schedule.ONCE


def test_a_project_delete_is_refused_while_its_pipeline_is_busy(cast, machine, save, api, login):
    """As the pipeline's own delete: 409 saying what runs, and the project is not marked deleting."""
    from projects.models import Project

    pipeline = save(cast.project_a, local_spec()).pipeline
    PipelineResource.objects.unscoped().filter(pipeline=pipeline, name="processing").update(
        state="UPDATE_IN_PROGRESS"
    )
    response = api(cast.alice, cast.org_a).delete("/api/v1/organizations/org-a/projects/shop/")
    assert response.status_code == 409
    assert response.json()["detail"].startswith(
        "Project shop cannot be deleted yet: The pipeline is creating"
    )
    page = login(cast.alice).post("/o/org-a/projects/shop/delete/", follow=True).content.decode()
    assert "cannot be deleted yet" in page
    assert not Project.objects.unscoped().get(pk=cast.project_a.pk).deleting
    assert not Pipeline.objects.unscoped().get(pk=pipeline.pk).delete_requested
