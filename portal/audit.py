"""Record every create, update and delete of organization data, whichever door it came through.

The UI, the API and Django admin all save through the ORM, so the log is written by model signals; the
request middleware (and the API's authentication, which runs later) says who is acting and through which
door. Work done outside a request is recorded as the system.
"""

from __future__ import annotations

import contextvars
import datetime
import decimal
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.db import models
from django.db.models.signals import post_delete, post_save, pre_save
from django.http import HttpRequest, HttpResponse

from portal.choices import AuditAction, AuditSource


@dataclass(frozen=True)
class AuditContext:
    actor: Any = None
    source: str = AuditSource.SYSTEM


_SYSTEM = AuditContext()
_context: contextvars.ContextVar[AuditContext] = contextvars.ContextVar("audit", default=_SYSTEM)
# Bookkeeping and secrets stay out of the log; the organization is the log's own scope.
IGNORED_FIELDS = {
    "uuid",
    "organization",
    "updated",
    "created",
    "last_used",
    "digest",
    "key",
    "password",
    "last_login",
}


def set_audit_context(*, actor: Any, source: str) -> None:
    _context.set(
        AuditContext(actor=actor if getattr(actor, "is_authenticated", False) else None, source=source)
    )


def source_for_path(path: str) -> str:
    if path.startswith("/api/"):
        return AuditSource.API
    if path.startswith("/admin/"):
        return AuditSource.ADMIN
    return AuditSource.UI


class AuditContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _context.set(_SYSTEM)
        set_audit_context(actor=getattr(request, "user", None), source=source_for_path(request.path))
        try:
            return self.get_response(request)
        finally:
            _context.reset(token)


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID | decimal.Decimal):
        return str(value)
    return value


def _field_value(instance: models.Model, field: models.Field) -> Any:
    """A field as a person reads it: a related object by its name, not its database key."""
    raw = getattr(instance, field.attname)
    if not field.is_relation or raw is None:
        return _jsonable(raw)
    try:
        return str(getattr(instance, field.name))
    except ObjectDoesNotExist:  # already gone in a cascade
        return str(raw)


def _snapshot(instance: models.Model) -> dict[str, Any]:
    return {
        field.name: _field_value(instance, field)
        for field in instance._meta.concrete_fields
        if field.name not in IGNORED_FIELDS and not field.primary_key
    }


def _organization_id(instance: models.Model) -> int | None:
    from portal.models import Organization

    if isinstance(instance, Organization):
        return instance.pk
    return getattr(instance, "organization_id", None)


def _is_audited(sender: type[models.Model]) -> bool:
    from portal.models import AuditLogEntry, Job, Membership, Organization, OrganizationOwned

    if sender in (AuditLogEntry, Job) or sender._meta.abstract:
        return False
    return issubclass(sender, OrganizationOwned | Membership | Organization)


def _record(instance: models.Model, action: str, changes: dict[str, list[Any]]) -> None:
    from portal.models import AuditLogEntry

    org_id = _organization_id(instance)
    if org_id is None:
        return
    ctx = _context.get()
    AuditLogEntry.objects.unscoped().create(
        organization_id=org_id,
        actor=ctx.actor,
        actor_label=getattr(ctx.actor, "email", "") or "",
        source=ctx.source,
        action=action,
        object_type=instance._meta.verbose_name,
        object_id=str(getattr(instance, "uuid", None) or instance.pk),
        object_repr=str(instance)[:200],
        changes=changes,
    )


def _before_save(sender: type[models.Model], instance: models.Model, raw: bool = False, **_: Any) -> None:
    if raw or not _is_audited(sender) or instance.pk is None:
        return
    old = sender._default_manager.filter(pk=instance.pk).first()
    instance._audit_before = _snapshot(old) if old is not None else None  # type: ignore[attr-defined]


def _after_save(
    sender: type[models.Model], instance: models.Model, created: bool, raw: bool = False, **_: Any
) -> None:
    if raw or not _is_audited(sender):
        return
    after = _snapshot(instance)
    before = getattr(instance, "_audit_before", None)
    if created or before is None:
        _record(instance, AuditAction.CREATE, {k: [None, v] for k, v in after.items() if v not in (None, "")})
        return
    changes = {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}
    if changes:
        _record(instance, AuditAction.UPDATE, changes)


def _after_delete(sender: type[models.Model], instance: models.Model, origin: Any = None, **_: Any) -> None:
    from portal.models import Organization

    # When a whole organization goes, its log goes with it: there is nowhere left to write.
    if not _is_audited(sender) or isinstance(origin, Organization) or sender is Organization:
        return
    if isinstance(origin, models.QuerySet) and origin.model is Organization:
        return
    _record(instance, AuditAction.DELETE, {k: [v, None] for k, v in _snapshot(instance).items() if v})


_ISO_DATETIME = re.compile(r"\A\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
DISPLAY_LIMIT = 160  # characters of one value shown in the log's table; the API has the whole value


def display_value(value: Any) -> str:
    """A recorded value as a person reads it: no quotes, brackets or Python reprs."""
    if value is None or value == "" or value == [] or value == {}:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        text = ", ".join(display_value(v) for v in value)
    elif isinstance(value, dict):
        text = ", ".join(f"{k}: {display_value(v)}" for k, v in value.items())
    elif isinstance(value, datetime.datetime):
        text = value.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    elif isinstance(value, str) and _ISO_DATETIME.match(value):
        try:
            text = display_value(datetime.datetime.fromisoformat(value.replace("Z", "+00:00")))
        except ValueError:
            text = value
    else:
        text = str(_jsonable(value))
    return text if len(text) <= DISPLAY_LIMIT else text[: DISPLAY_LIMIT - 1] + "…"


def display_changes(changes: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(field, before, after) rows for the log's table, field names in words."""
    rows = []
    for field, pair in changes.items():
        before, after = pair if isinstance(pair, list | tuple) and len(pair) == 2 else (None, pair)
        rows.append((field.replace("_", " "), display_value(before), display_value(after)))
    return rows


def connect_signals() -> None:
    pre_save.connect(_before_save, dispatch_uid="audit_pre_save")
    post_save.connect(_after_save, dispatch_uid="audit_post_save")
    post_delete.connect(_after_delete, dispatch_uid="audit_post_delete")
