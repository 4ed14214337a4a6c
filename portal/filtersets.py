"""Filtersets for the portal's own lists (shared by the UI and the API)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import django_filters
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django_filters.fields import IsoDateTimeField

from portal.choices import AuditAction, AuditSource, JobStatus
from portal.models import AuditLogEntry, AwsAccount, Job, Membership
from portal.roles import Role

MAX_UTC_OFFSET = timedelta(hours=14)  # the widest real time zone; databases refuse much wider offsets


class StrictIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 date-time with a real-world UTC offset, handed to the database in UTC."""

    default_error_messages = {
        "invalid": "Enter a date, or a date and time, like 2026-01-31 or 2026-01-31T08:00Z.",
    }

    def to_python(self, value: Any) -> datetime | None:
        parsed = super().to_python(value)
        if parsed is None:
            return None
        offset = parsed.utcoffset()
        if offset is not None and abs(offset) > MAX_UTC_OFFSET:
            raise ValidationError("The UTC offset must be between -14:00 and +14:00.", code="invalid")
        return parsed.astimezone(UTC) if offset is not None else parsed


class StrictIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = StrictIsoDateTimeField


class AuditLogFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search")
    action = django_filters.ChoiceFilter(choices=AuditAction.choices)
    source = django_filters.ChoiceFilter(choices=AuditSource.choices)
    object_type = django_filters.CharFilter(lookup_expr="iexact", label="Object type")
    actor = django_filters.CharFilter(field_name="actor_label", lookup_expr="icontains", label="Who (email)")
    since = StrictIsoDateTimeFilter(field_name="timestamp", lookup_expr="gte", label="Since (2026-01-31)")
    until = StrictIsoDateTimeFilter(field_name="timestamp", lookup_expr="lt", label="Until (2026-02-01)")

    class Meta:
        model = AuditLogEntry
        fields = ["q", "action", "source", "object_type", "actor", "since", "until"]

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(Q(object_repr__icontains=value) | Q(actor_label__icontains=value))


class JobFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains", label="Search")
    kind = django_filters.CharFilter(label="Kind")
    status = django_filters.ChoiceFilter(choices=JobStatus.choices)

    class Meta:
        model = Job
        fields = ["q", "kind", "status"]


class MemberFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(field_name="user__email", lookup_expr="icontains", label="Email")
    role = django_filters.ChoiceFilter(choices=Role.choices, method="by_role", label="Role")

    class Meta:
        model = Membership
        fields = ["q", "role"]

    def by_role(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(roles__icontains=f'"{value}"')


class AwsAccountFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search")
    last_test_ok = django_filters.BooleanFilter(label="Last test passed")

    class Meta:
        model = AwsAccount
        fields = ["q", "region", "last_test_ok"]

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(Q(name__icontains=value) | Q(role_arn__icontains=value))
