"""Settings for the test suite: PostgreSQL, fast hashing, in-memory email."""

from __future__ import annotations

import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/clickstream")

from portal.settings.base import *  # noqa: F403
from portal.settings.base import Q_CLUSTER

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
Q_CLUSTER["sync"] = True  # tasks run inline in tests
ACCOUNT_RATE_LIMITS = {"login_failed": "10/m/ip,5/5m/key"}
STATIC_ROOT = None  # served by finders; no collectstatic in tests
WHITENOISE_USE_FINDERS = True
