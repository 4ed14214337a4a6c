"""Settings for the test suite: PostgreSQL, fast hashing, in-memory email."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

# The suite creates its own database; this one is only where it connects to do so.
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
# No EC2 instance metadata here: without it, boto3's search for our own credentials fails fast instead of
# waiting on 169.254.169.254.
os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
# Under pytest-xdist each worker gets a var/ of its own (lake, allow-list, caches), as it gets a database of its own.
if _worker := os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.setdefault(
        "CLICKSTREAM_VAR_DIR", str(Path(__file__).resolve().parents[2] / "var" / f"test-{_worker}")
    )

from portal.settings.base import *  # noqa: F403
from portal.settings.base import BASE_DIR, DATABASES, Q_CLUSTER

# One test database per checkout, so two clones (a CI dry run beside a working tree) never share one.
_checkout = hashlib.sha1(str(BASE_DIR).encode()).hexdigest()[:8]
DATABASES["default"]["TEST"] = {"NAME": f"test_clickstream_{_checkout}"}

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
Q_CLUSTER["sync"] = True  # tasks run inline in tests
STATIC_ROOT = None  # type: ignore[assignment]  # served by finders; no collectstatic in tests
WHITENOISE_USE_FINDERS = True
# The worker heartbeat's cache of its own (the run's var/ may hold a live `make run`'s): no cluster reports here.
CACHES["queue"] = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "queue"}  # noqa: F405
