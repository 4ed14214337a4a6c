"""One filterset per model, shared by the UI lists and the API."""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet

from pipelines.choices import AlarmState
from pipelines.models import Alarm


class AlarmFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search")
    project = django_filters.CharFilter(field_name="pipeline__project__project_id", label="Project id")
    state = django_filters.ChoiceFilter(choices=AlarmState.choices, label="State")
    actions_enabled = django_filters.BooleanFilter(label="Actions enabled")

    class Meta:
        model = Alarm
        fields = ["q", "project", "state", "actions_enabled"]

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(Q(name__icontains=value) | Q(description__icontains=value))
