# Jobs that survive crashes: attempts, lease, next try, cancel, log lines as rows, one busy job per object.

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models
from django.utils import timezone

import portal.models.jobs

BUSY = ["pending", "running"]


def move_log_lines_and_settle_duplicates(apps, schema_editor):
    """Log lines move to rows of their own; jobs that already ran count one attempt; a job left running
    gets an expired lease, so the sweeper settles it; of several busy jobs for one object only the newest
    stays busy (the new constraint allows one)."""
    if schema_editor.connection.vendor == "postgresql":
        # Check the new rows' foreign keys now: PostgreSQL refuses to build this migration's indexes on a
        # table with deferred checks still pending.
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    Job = apps.get_model("portal", "Job")
    jobs = Job._default_manager
    JobLog = apps.get_model("portal", "JobLog")
    now = timezone.now()
    for job in jobs.exclude(log=[]).iterator():
        JobLog.objects.bulk_create(
            JobLog(job=job, at=e.get("at") or now, level=e.get("level", "info"), message=e.get("message", ""))
            for e in job.log
        )
    jobs.exclude(started=None).update(attempts=1)
    jobs.filter(status="running").update(lease_expires=now)
    seen = set()
    for job in jobs.filter(status__in=BUSY).exclude(object_type=None).order_by("-created"):
        key = (job.kind, job.object_type_id, job.object_id)
        if key in seen:
            job.status, job.finished, job.error = (
                "failed",
                now,
                "superseded by a newer job for the same object",
            )
            job.save(update_fields=["status", "finished", "error"])
        seen.add(key)


class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("portal", "0002_sso_and_mfa"),
    ]

    operations = [
        migrations.CreateModel(
            name="JobLog",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("at", models.DateTimeField(default=django.utils.timezone.now)),
                ("attempt", models.PositiveSmallIntegerField(default=0)),
                (
                    "level",
                    models.CharField(
                        choices=[
                            ("debug", "Debug"),
                            ("info", "Info"),
                            ("warning", "Warning"),
                            ("error", "Error"),
                        ],
                        default="info",
                        max_length=10,
                    ),
                ),
                ("message", models.TextField()),
            ],
            options={
                "ordering": ["pk"],
            },
        ),
        migrations.AddField(
            model_name="job",
            name="attempts",
            field=models.PositiveSmallIntegerField(default=0, help_text="Attempts started so far."),
        ),
        migrations.AddField(
            model_name="job",
            name="cancel_requested",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="job",
            name="lease_expires",
            field=models.DateTimeField(
                blank=True, db_index=True, help_text="The running worker's claim lasts until then.", null=True
            ),
        ),
        migrations.AddField(
            model_name="job",
            name="lease_seconds",
            field=models.PositiveIntegerField(default=portal.models.jobs.default_lease_seconds),
        ),
        migrations.AddField(
            model_name="job",
            name="max_attempts",
            field=models.PositiveSmallIntegerField(default=1, help_text="The kind's limit, set on enqueue."),
        ),
        migrations.AddField(
            model_name="job",
            name="next_try",
            field=models.DateTimeField(
                blank=True,
                db_index=True,
                help_text="When a retry waiting after a transient error is due.",
                null=True,
            ),
        ),
        migrations.AlterField(
            model_name="job",
            name="kind",
            field=models.CharField(
                db_index=True, help_text="The registered job kind, e.g. etl.local.", max_length=50
            ),
        ),
        migrations.AlterField(
            model_name="job",
            name="started",
            field=models.DateTimeField(blank=True, help_text="When the latest attempt started.", null=True),
        ),
        migrations.AlterField(
            model_name="job",
            name="status",
            field=models.CharField(
                choices=[
                    ("pending", "Pending"),
                    ("running", "Running"),
                    ("succeeded", "Succeeded"),
                    ("failed", "Failed"),
                    ("cancelled", "Cancelled"),
                ],
                db_index=True,
                default="pending",
                max_length=10,
            ),
        ),
        migrations.AddField(
            model_name="joblog",
            name="job",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE, related_name="log_lines", to="portal.job"
            ),
        ),
        migrations.RunPython(move_log_lines_and_settle_duplicates, migrations.RunPython.noop),
    ]
