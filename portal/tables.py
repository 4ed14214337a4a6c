"""Declarative list tables: which columns a list shows, which of them sort, which link to the object."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.db import models
from django.urls import reverse
from django.utils import timezone


@dataclass(frozen=True)
class Column:
    name: str
    label: str
    order_by: str | None = None  # the ORM field to sort by; None means not sortable
    link: bool = False
    value: Callable[[Any], Any] | None = None

    def render(self, obj: models.Model) -> Any:
        if self.value is not None:
            return self.value(obj)
        value: Any = obj
        for part in self.name.split("."):
            value = getattr(value, part, None)
            if callable(value) and not isinstance(value, models.Manager):
                value = value()
        if isinstance(value, datetime.datetime):
            return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
        return "—" if value in (None, "") else value


@dataclass(frozen=True)
class Action:
    """A button at the end of a row (edit, remove, revoke…)."""

    label: str
    url: str
    style: str = "outline-secondary"


class Table:
    """Subclasses set `columns` and `default_sort`; the list view sorts with `sort_key()` and renders rows."""

    columns: tuple[Column, ...] = ()
    default_sort: str = "-created"

    def __init__(self, objects: Iterable[models.Model], sort: str) -> None:
        self.objects = objects
        self.sort = sort

    @classmethod
    def sort_key(cls, requested: str | None) -> tuple[str, str]:
        """Return (the sort asked for, as shown in links; the ORM ordering). Unknown columns fall back."""
        requested = requested or cls.default_sort
        name = requested.removeprefix("-")
        for column in cls.columns:
            if column.name == name and column.order_by:
                descending = requested.startswith("-")
                return requested, ("-" if descending else "") + column.order_by
        return cls.sort_key(cls.default_sort) if requested != cls.default_sort else (requested, requested)

    def headers(self) -> list[dict[str, Any]]:
        out = []
        for column in self.columns:
            active = self.sort.removeprefix("-") == column.name
            descending = self.sort.startswith("-")
            next_sort = column.name if (active and descending) or not active else f"-{column.name}"
            out.append(
                {
                    "label": column.label,
                    "sortable": column.order_by is not None,
                    "sort": next_sort,
                    "active": active,
                    "descending": descending,
                }
            )
        return out

    def actions(self, obj: Any) -> list[Action]:
        """Row buttons; none by default."""
        return []

    def rows(self) -> list[dict[str, Any]]:
        return [
            {
                "object": obj,
                "cells": [
                    {"value": column.render(obj), "link": column.link and obj.get_absolute_url()}  # type: ignore[attr-defined]
                    for column in self.columns
                ],
                "actions": self.actions(obj),
            }
            for obj in self.objects
        ]


class MemberTable(Table):
    columns = (
        Column("user.email", "Email", order_by="user__email"),
        Column("roles", "Roles", value=lambda m: ", ".join(m.role_labels)),
        Column(
            "from_sso", "Roles from", value=lambda m: "identity provider" if m.from_sso else "this portal"
        ),
        Column("created", "Member since", order_by="created"),
    )
    default_sort = "user.email"

    def actions(self, obj: Any) -> list[Action]:
        kwargs = {"org": obj.organization.slug, "pk": obj.uuid}
        return [
            Action("Roles", reverse("member_edit", kwargs=kwargs)),
            Action("Remove", reverse("member_delete", kwargs=kwargs), "outline-danger"),
        ]


class InvitationTable(Table):
    columns = (
        Column("email", "Email", order_by="email"),
        Column("roles", "Roles", value=lambda i: ", ".join(i.roles)),
        Column("invited_by.email", "Invited by"),
        Column("expires", "Expires", order_by="expires"),
        Column("accepted_at", "Accepted", order_by="accepted_at"),
    )
    default_sort = "-expires"

    def actions(self, obj: Any) -> list[Action]:
        url = reverse("invitation_delete", kwargs={"org": obj.organization.slug, "pk": obj.uuid})
        return [Action("Revoke", url, "outline-danger")]


class AuditLogTable(Table):
    columns = (
        Column("timestamp", "When", order_by="timestamp"),
        Column("actor_label", "Who", order_by="actor_label"),
        Column("source", "Through", value=lambda e: e.get_source_display()),
        Column("action", "Action", order_by="action", value=lambda e: e.get_action_display()),
        Column("object_type", "Object type", order_by="object_type"),
        Column("object_repr", "Object", order_by="object_repr"),
        Column("changes", "Changes", value=lambda e: e.changes_text),
    )
    default_sort = "-timestamp"


class ApiTokenTable(Table):
    columns = (
        Column("name", "Name", order_by="name"),
        Column("hint", "Starts with"),
        Column("read_only", "Access", value=lambda t: "read-only" if t.read_only else "read-write"),
        Column("expires", "Expires", order_by="expires"),
        Column("last_used", "Last used", order_by="last_used"),
        Column("created", "Created", order_by="created"),
    )

    def actions(self, obj: Any) -> list[Action]:
        url = reverse("token_delete", kwargs={"org": obj.organization.slug, "pk": obj.uuid})
        return [Action("Revoke", url, "outline-danger")]


class JobTable(Table):
    columns = (
        Column("name", "Job", order_by="name", link=True),
        Column("kind", "Kind", order_by="kind"),
        Column("status", "Status", order_by="status", value=lambda j: j.status_text),
        Column("progress", "Progress", order_by="progress", value=lambda j: f"{j.progress}%"),
        Column("attempts", "Attempts", order_by="attempts", value=lambda j: j.attempts_text),
        Column("next_try", "Next try", order_by="next_try"),
        Column("created", "Queued", order_by="created"),
        Column("duration", "Duration", value=lambda j: j.duration_text),
    )
