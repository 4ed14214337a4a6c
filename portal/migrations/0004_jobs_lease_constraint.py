# Jobs that survive crashes, part two: the old columns go and the one-busy-job-per-object rule starts.
# A migration of its own, so the rows 0003 moved and settled are committed before the table is altered.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0003_jobs_lease"),
    ]

    operations = [
        migrations.RemoveField(
            model_name="job",
            name="func",
        ),
        migrations.RemoveField(
            model_name="job",
            name="log",
        ),
        migrations.AddConstraint(
            model_name="job",
            constraint=models.UniqueConstraint(
                condition=models.Q(("status__in", ["pending", "running"])),
                fields=("kind", "object_type", "object_id"),
                name="portal_job_one_busy_per_object",
                violation_error_message="This object already has a job of this kind pending or running.",
            ),
        ),
        migrations.AddIndex(
            model_name="joblog",
            index=models.Index(fields=["job", "id"], name="portal_joblog_job_id"),
        ),
    ]
