from __future__ import annotations

import json

from django.contrib import admin
from django.utils.html import format_html

from projects import services
from projects.models import App, Project


class AppInline(admin.TabularInline):
    model = App
    extra = 0
    fields = ["app_id", "name", "timezone", "platforms"]
    show_change_link = True


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["project_id", "name", "organization", "environment", "created"]
    list_filter = ["environment", "organization"]
    search_fields = ["project_id", "name", "organization__slug"]
    readonly_fields = ["uuid", "created", "updated"]
    inlines = [AppInline]

    def get_readonly_fields(self, request, obj=None):  # type: ignore[no-untyped-def]
        return [*self.readonly_fields, "project_id", "organization"] if obj else self.readonly_fields


@admin.register(App)
class AppAdmin(admin.ModelAdmin):
    list_display = ["app_id", "name", "project", "organization", "timezone", "created"]
    list_filter = ["organization", "timezone"]
    search_fields = ["app_id", "name", "project__project_id"]
    readonly_fields = ["uuid", "created", "updated", "data_since", "sdk_config"]

    def get_readonly_fields(self, request, obj=None):  # type: ignore[no-untyped-def]
        return [*self.readonly_fields, "app_id", "project", "organization"] if obj else self.readonly_fields

    @admin.display(description="SDK configuration (amplifyconfiguration.json)")
    def sdk_config(self, obj: App) -> str:
        if obj.pk is None:
            return "—"
        return format_html("<pre>{}</pre>", json.dumps(services.app_sdk_config(app=obj), indent=2))
