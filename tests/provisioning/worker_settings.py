"""Settings for the real `manage.py qcluster` of the reconciler crash test: the jobs crash test's worker
settings, plus a pause the test can turn on (at the step `RECONCILER_PAUSE_STEP` names) — after a step's action has run but before its record is
committed, the worst moment for a worker to die."""

from __future__ import annotations

from django.apps import AppConfig

from tests.portal.worker_settings import *  # noqa: F403
from tests.portal.worker_settings import INSTALLED_APPS


class PauseMidStepConfig(AppConfig):
    name = "tests.provisioning"
    label = "test_reconciler_pause"

    def ready(self) -> None:
        import os
        import time
        from pathlib import Path

        from provisioning import reconciler

        marker = Path(os.environ["RECONCILER_PAUSE_FILE"])
        step = os.environ.get("RECONCILER_PAUSE_STEP", "allowlist")  # a resource's name, or its prefix

        def pause(name: str, point: str) -> None:
            if name.startswith(step) and point == "after-action" and marker.exists():
                marker.write_text("paused")  # tells the test this worker is now mid-step
                time.sleep(120)

        reconciler.CRASH_HOOK = pause


INSTALLED_APPS = [*INSTALLED_APPS, "tests.provisioning.worker_settings.PauseMidStepConfig"]
