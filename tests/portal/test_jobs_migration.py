"""The migration to crash-safe jobs keeps what existing rows hold and leaves them valid for the new rules."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("portal", "0002_sso_and_mfa")]
AFTER = [("portal", "0004_jobs_lease_constraint")]


@pytest.mark.django_db(transaction=True)
def test_log_lines_move_to_rows_and_duplicate_busy_jobs_are_settled(cast):
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    Job = old.get_model("portal", "Job")
    project_type = old.get_model("contenttypes", "ContentType").objects.get(
        app_label="projects", model="project"
    )
    common = {"organization_id": cast.org_a.pk, "kind": "etl.local", "func": "etl.tasks.etl_run_local"}
    older = Job._default_manager.create(
        **common,
        name="older",
        status="running",
        object_type=project_type,
        object_id=str(cast.project_a.pk),
        log=[{"at": "2026-11-27T10:00:00+00:00", "level": "warning", "message": "slow"}],
    )
    newer = Job._default_manager.create(
        **common, name="newer", status="pending", object_type=project_type, object_id=str(cast.project_a.pk)
    )
    try:
        executor = MigrationExecutor(connection)
        executor.migrate(AFTER)
    finally:
        MigrationExecutor(connection).migrate(executor.loader.graph.leaf_nodes())
    from portal.models import Job as NewJob

    older_now, newer_now = (
        NewJob.objects.unscoped().get(pk=older.pk),
        NewJob.objects.unscoped().get(pk=newer.pk),
    )
    assert [(line.level, line.message) for line in older_now.log_lines.all()] == [("warning", "slow")]
    assert (older_now.status, older_now.error) == ("failed", "superseded by a newer job for the same object")
    assert newer_now.status == "pending" and newer_now.attempts == 0
