"""Settings for a real `manage.py qcluster` started by the crash test: the test suite's database (named by
DATABASE_URL, set by the test), the ORM broker, queued tasks (not run inline), and the test-only job kinds."""

from __future__ import annotations

from django.apps import AppConfig

from portal.settings.test import *  # noqa: F403
from portal.settings.test import INSTALLED_APPS, Q_CLUSTER


class TestJobKindsConfig(AppConfig):
    name = "tests.portal"
    label = "test_job_kinds"

    def ready(self) -> None:
        from tests.portal import job_kinds  # noqa: F401  registers the test kinds in this worker


INSTALLED_APPS = [*INSTALLED_APPS, "tests.portal.worker_settings.TestJobKindsConfig"]
Q_CLUSTER = {
    **{k: v for k, v in Q_CLUSTER.items() if k != "redis"},
    "sync": False,
    "orm": "default",
    "workers": 1,
    "timeout": 60,
    "retry": 120,
    "poll": 0.1,
}
