"""Strict readers for configuration taken from the environment.

Every difference between deployments comes through these helpers: a malformed value is an error at
start-up, and a required value that is missing stops the process instead of surfacing later as None.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
_MISSING = object()


def env_str(name: str, default: str | object = _MISSING) -> str:
    value = os.environ.get(name)
    if value is None:
        if default is _MISSING:
            raise ImproperlyConfigured(f"Set the environment variable {name}.")
        return str(default)
    return value


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    lowered = raw.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be one of true/false/1/0/yes/no, not {raw!r}.")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, not {raw!r}.") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {value}.")
    return value


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return list(default or [])
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_secret(name: str, default: str | object = _MISSING) -> str:
    """Read a secret from NAME, or from the file named by NAME_FILE (Docker/Kubernetes secrets)."""
    path = os.environ.get(f"{name}_FILE")
    if path:
        try:
            return Path(path).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(
                f"{name}_FILE points at {path!r}, which cannot be read: {exc}"
            ) from None
    return env_str(name, default)


# The key `make run` and the tests use: public in this repository, so worth nothing outside this machine.
DEV_SECRET_KEY = "dev-only-insecure-key-change-me-in-production-0123456789"
# Keys that ship in templates, tutorials and Django's startproject: a forger tries them first.
WELL_KNOWN_KEY_PARTS = ("django-insecure-", "changeme", "change-me", "change_me", "secret-key", "secretkey")
MIN_SECRET_KEY_LENGTH = 50


def is_loopback_host(host: str) -> bool:
    """An ALLOWED_HOSTS entry that only this machine can reach (`testserver` is Django's test client)."""
    name = host.strip().lower().removeprefix(".").strip("[]")
    if name in {"localhost", "testserver"} or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def env_secret_key(*, production: bool, allowed_hosts: list[str]) -> str:
    """SECRET_KEY (or SECRET_KEY_FILE) for this deployment.

    Whoever knows the key can forge sessions and password-reset links, so production requires a long key
    that is not a well-known one, and the development key (the default outside production) is accepted
    only while every allowed host is a loopback address: a portal reachable from elsewhere needs its own."""
    if production:
        key = env_secret("SECRET_KEY")
        problem = weak_secret_key(key)
        if problem:
            raise ImproperlyConfigured(
                f"SECRET_KEY {problem}. Generate one with: python -c 'import secrets; print(secrets.token_urlsafe(50))'"
            )
        return key
    key = env_secret("SECRET_KEY", DEV_SECRET_KEY)
    public = [host for host in allowed_hosts if not is_loopback_host(host)]
    if key == DEV_SECRET_KEY and public:
        raise ImproperlyConfigured(
            f"The development SECRET_KEY is public; set SECRET_KEY (or SECRET_KEY_FILE) to serve "
            f"{', '.join(public)}, or keep ALLOWED_HOSTS to loopback addresses."
        )
    return key


def weak_secret_key(key: str) -> str | None:
    """Why a production key is refused, or None (Django's own check, security.W009, only warns)."""
    lowered = key.lower()
    if key == DEV_SECRET_KEY or any(part in lowered for part in WELL_KNOWN_KEY_PARTS):
        return "is a well-known key (a default or an example)"
    if len(key) < MIN_SECRET_KEY_LENGTH:
        return f"is {len(key)} characters long; use at least {MIN_SECRET_KEY_LENGTH} random characters"
    if len(set(key)) < 5:
        return "repeats too few characters to be random"
    return None
