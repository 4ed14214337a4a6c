"""Pipelines in Django admin, read-only: support staff see every version, its diff and what the rules say
about the current spec today, but changes go through the portal or the API, where the version token and
the update allow-lists apply."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join

from pipelines import selectors, services
from pipelines.models import Alarm, AlarmSubscription, Pipeline, PipelineVersion


class ReadOnly:
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class VersionInline(ReadOnly, admin.TabularInline):
    model = PipelineVersion
    extra = 0
    fields = ["number", "author", "summary", "created"]
    readonly_fields = fields  # type: ignore[assignment]
    show_change_link = True


def _changes_table(changes: list[dict[str, Any]]) -> str:
    rows = format_html_join("", "<tr><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
                            ((c["path"], json.dumps(c["old"]), json.dumps(c["new"])) for c in changes))  # fmt: skip
    return format_html("<table><tr><th>Field</th><th>Before</th><th>After</th></tr>{}</table>", rows)


@admin.register(Pipeline)
class PipelineAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ["project", "organization", "provider", "version_number", "delete_requested", "updated"]
    list_filter = ["provider", "organization"]
    search_fields = ["project__project_id", "uuid"]
    fields = ["project", "organization", "provider", "version_number", "ingestion_endpoint", "delete_requested",
              "problems", "spec_json", "created", "updated"]  # fmt: skip
    readonly_fields = fields  # type: ignore[assignment]
    inlines = [VersionInline]

    @admin.display(description="Problems under today's rules")
    def problems(self, obj: Pipeline) -> str:
        found = services.pipeline_check(project=obj.project, spec=obj.spec, pipeline=None)
        if not found:
            return "None: the current spec passes every rule."
        return format_html("<ul>{}</ul>", format_html_join("", "<li><code>{}</code>: {}</li>",
                                                            ((p.path, p.message) for p in found)))  # fmt: skip

    @admin.display(description="Current spec")
    def spec_json(self, obj: Pipeline) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.spec, indent=2))


@admin.register(PipelineVersion)
class PipelineVersionAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ["pipeline", "number", "author", "summary", "created"]
    list_filter = ["organization"]
    search_fields = ["pipeline__project__project_id", "summary", "author__email"]
    fields = ["pipeline", "number", "author", "summary", "created", "changes", "spec_json"]
    readonly_fields = fields  # type: ignore[assignment]

    @admin.display(description="Changes from the version before")
    def changes(self, obj: PipelineVersion) -> str:
        return _changes_table(selectors.version_diff(version=obj))

    @admin.display(description="Spec")
    def spec_json(self, obj: PipelineVersion) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.spec, indent=2))


@admin.register(Alarm)
class AlarmAdmin(ReadOnly, admin.ModelAdmin):
    """Alarms as the refresh last read them; their actions are turned on or off in the portal or the API."""

    list_display = [
        "short_name",
        "pipeline",
        "organization",
        "state",
        "actions_enabled",
        "state_changed",
        "refreshed",
    ]
    list_filter = ["state", "actions_enabled", "organization"]
    search_fields = ["name", "pipeline__project__project_id"]
    fields = ["name", "pipeline", "organization", "region", "arn", "description", "state", "reason",
              "state_changed", "actions_enabled", "console", "refreshed"]  # fmt: skip
    readonly_fields = fields  # type: ignore[assignment]

    @admin.display(description="In the AWS console")
    def console(self, obj: Alarm) -> str:
        return format_html('<a href="{}">{}</a>', obj.console_url, obj.console_url)


@admin.register(AlarmSubscription)
class AlarmSubscriptionAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ["email", "pipeline", "organization", "state", "refreshed"]
    list_filter = ["state", "organization"]
    search_fields = ["email", "pipeline__project__project_id"]
    fields = ["email", "pipeline", "organization", "state", "arn", "refreshed"]
    readonly_fields = fields  # type: ignore[assignment]
