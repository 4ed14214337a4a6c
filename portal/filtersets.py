"""Filtersets for the portal's own lists (shared by the UI and the API)."""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet

from portal.choices import AuditAction, AuditSource
from portal.models import AuditLogEntry, Membership


class AuditLogFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search")
    action = django_filters.ChoiceFilter(choices=AuditAction.choices)
    source = django_filters.ChoiceFilter(choices=AuditSource.choices)
    object_type = django_filters.CharFilter(lookup_expr="iexact")
    actor = django_filters.CharFilter(field_name="actor_label", lookup_expr="icontains")
    since = django_filters.IsoDateTimeFilter(field_name="timestamp", lookup_expr="gte")
    until = django_filters.IsoDateTimeFilter(field_name="timestamp", lookup_expr="lt")

    class Meta:
        model = AuditLogEntry
        fields = ["q", "action", "source", "object_type", "actor", "since", "until"]

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(Q(object_repr__icontains=value) | Q(actor_label__icontains=value))


class MemberFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(field_name="user__email", lookup_expr="icontains", label="Email")
    role = django_filters.CharFilter(method="by_role")

    class Meta:
        model = Membership
        fields = ["q", "role"]

    def by_role(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(roles__icontains=f'"{value}"')
