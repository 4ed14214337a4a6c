"""`manage.py demo [--org SLUG]`: the demo project, its traffic and a processing run (provisioning/demo.py)."""

from __future__ import annotations

import json
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from portal.choices import JobStatus
from portal.models import Job, Organization
from provisioning.demo import DemoError, demo_run

PROCESSING_WITHIN = 120.0


class Command(BaseCommand):
    help = (
        "Create a demo project (a web and a mobile app on a local pipeline), send a few days of realistic "
        "traffic through the collector, and process it. Needs the worker and the collector (`make run`)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", default="default", help="The organization's slug (default: default).")
        parser.add_argument(
            "--no-wait", action="store_true", help="Return once processing is started, not finished."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        organization = Organization.objects.filter(slug=options["org"]).first()
        if organization is None:
            raise CommandError(f"No organization {options['org']!r}: create it first (manage.py createuser).")
        try:
            result = demo_run(organization=organization, progress=lambda _, step: self.stdout.write(step))
        except DemoError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(json.dumps(result.sent.report(), indent=2))
        if not options["no_wait"]:
            self.wait(result.processing)
        self.stdout.write(f"Dashboards: {result.project.get_absolute_url()}analytics/")

    def wait(self, job: Job) -> None:
        deadline = time.monotonic() + PROCESSING_WITHIN
        while job.status not in JobStatus.settled():
            if time.monotonic() > deadline:
                raise CommandError(f"Processing is still {job.status} after {PROCESSING_WITHIN:.0f} s.")
            time.sleep(0.5)
            job.refresh_from_db()
        if job.status != JobStatus.SUCCEEDED:
            raise CommandError(f"Processing {job.status}: {job.error}")
        self.stdout.write(f"Processed: {job.result.get('rows_out', '?')} events.")
