"""Validation rules for projects and apps (spec/control-plane.md §1.2, §1.3, Appendix A), shared by forms,
the API and Django admin through the model fields."""

from __future__ import annotations

import re
import zoneinfo
from functools import cache

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator

validate_project_id = RegexValidator(
    r"\A[a-z][a-z0-9_]{0,126}\Z",
    "A project id starts with a lowercase letter and has up to 127 lowercase letters, digits and underscores.",
    code="invalid_project_id",
)
validate_app_id = RegexValidator(
    r"\A[a-zA-Z][a-zA-Z0-9_]{0,126}\Z",
    "An app id starts with a letter and has up to 127 letters, digits and underscores.",
    code="invalid_app_id",
)
# Words our URLs use beside ids (`projects/add/`, `apps/<id>/edit/`…) or that read as one of our pages; an id
# like these would make a page unreachable or a link ambiguous. Compared without case (app ids allow capitals).
RESERVED_IDS = frozenset(
    {
        "add",
        "new",
        "create",
        "edit",
        "update",
        "delete",
        "remove",
        "settings",
        "api",
        "admin",
        "apps",
        "app",
        "projects",
        "project",
        "pipeline",
        "pipelines",
        "jobs",
        "members",
        "tokens",
        "static",
        "media",
        "accounts",
        "login",
        "logout",
        "health",
    }
)


def validate_not_reserved(value: str) -> None:
    if value.lower() in RESERVED_IDS:
        raise ValidationError(
            "“%(value)s” is a reserved word in the portal's addresses; choose another id, such as “%(value)s_1”.",
            code="reserved_id",
            params={"value": value},
        )


validate_android_package = RegexValidator(
    r"\A[a-zA-Z][a-zA-Z0-9_]*(\.[a-zA-Z][a-zA-Z0-9_]*)+\Z",
    "An Android package looks like com.example.shop: dot-separated names that start with a letter.",
    code="invalid_android_package",
)
validate_ios_bundle_id = RegexValidator(
    r"\A[a-zA-Z0-9-]+(\.[a-zA-Z0-9-]+)+\Z",
    "An iOS bundle id looks like com.example.shop: letters, digits and hyphens, separated by dots.",
    code="invalid_ios_bundle_id",
)

_EMAIL = re.compile(r"\A(?=.{1,320}\Z)\w+([-+.']\w+)*@\w+([-.]\w+)*\.\w+([-.]\w+)*\Z")


def split_emails(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def validate_emails(value: str) -> None:
    """A comma-separated list of addresses for alarm notifications; each must be a valid address."""
    addresses = split_emails(value)
    if not addresses:
        raise ValidationError("Give at least one email address.", code="required")
    bad = [a for a in addresses if not _EMAIL.match(a)]
    if bad:
        raise ValidationError(
            "Not a valid email address: %(bad)s. Separate addresses with commas.",
            code="invalid_email",
            params={"bad": ", ".join(bad)},
        )


@cache
def time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def validate_time_zone(value: str) -> None:
    if value not in time_zones():
        raise ValidationError(
            "%(value)s is not an IANA time zone; use a name like Europe/Berlin or America/New_York.",
            code="invalid_time_zone",
            params={"value": value},
        )
