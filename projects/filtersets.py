"""One filterset per model, shared by the UI lists and the API."""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet

from projects.choices import Environment
from projects.models import App, Project


class ProjectFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search")
    environment = django_filters.ChoiceFilter(choices=Environment.choices[1:])

    class Meta:
        model = Project
        fields = ["q", "environment"]

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(
            Q(project_id__icontains=value) | Q(name__icontains=value) | Q(description__icontains=value)
        )


class AppFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search")
    platform = django_filters.CharFilter(method="by_platform", label="Platform")

    class Meta:
        model = App
        fields = ["q", "platform"]

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(Q(app_id__icontains=value) | Q(name__icontains=value))

    def by_platform(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        # JSON containment is not portable to SQLite; platforms lists are short, so match the quoted name.
        return queryset.filter(platforms__icontains=f'"{value}"')
