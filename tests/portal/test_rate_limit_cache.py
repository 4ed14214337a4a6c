"""Security review, item 10: sign-in rate limits live in a cache every worker shares.

Before, production without REDIS_URL used a per-process memory cache: each worker (and each host) allowed
the full number of failed sign-ins, so the limit multiplied with the worker count. Here two worker processes
count the same failures, through Redis and through the database.
"""

from __future__ import annotations

import uuid

import pytest
from django.db import connection

from tests.oidc.test_deploy import PRODUCTION, manage

# One worker process: records `n` failed sign-ins for an account, prints whether each was still allowed.
WORKER = """
from allauth.core import ratelimit
from django.test import RequestFactory
request = RequestFactory().post("/accounts/login/", REMOTE_ADDR="{ip}")
print([ratelimit.consume(request, action="login_failed", key="{key}") for _ in range({n})])
"""


def two_workers(tmp_path, **environ: str) -> list[str]:
    key = f"{uuid.uuid4().hex}@example.com"
    ip = "10.{}.{}.{}".format(*uuid.uuid4().bytes[:3])  # the per-IP limit is shared too: one address per run
    out = []
    for n in (3, 3):  # 5 failures in 5 minutes per account are allowed
        result = manage(
            "shell", "-c", WORKER.format(key=key, ip=ip, n=n), CLICKSTREAM_VAR_DIR=str(tmp_path), **environ
        )
        assert result.returncode == 0, result.stderr
        out.append(result.stdout.strip().splitlines()[-1])
    return out


@pytest.mark.django_db
def test_production_workers_share_the_limit_through_the_database(tmp_path):
    database = connection.settings_dict["NAME"]  # the test database: migration 0004 made portal_cache there
    environ = {**PRODUCTION, "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{database}"}
    assert two_workers(tmp_path, **environ) == ["[True, True, True]", "[True, True, False]"]


def test_workers_share_the_limit_through_redis(tmp_path):
    environ = {**PRODUCTION, "REDIS_URL": "redis://127.0.0.1:6379/15"}
    assert two_workers(tmp_path, **environ) == ["[True, True, True]", "[True, True, False]"]


def test_the_single_process_development_server_keeps_a_memory_cache(tmp_path):
    code = "from django.conf import settings as s; print(s.CACHES['default']['BACKEND'])"
    result = manage("shell", "-c", code, CLICKSTREAM_VAR_DIR=str(tmp_path))
    assert result.stdout.split()[-1] == "django.core.cache.backends.locmem.LocMemCache", result.stderr
