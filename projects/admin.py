from __future__ import annotations

import json

from django.contrib import admin, messages
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
    list_display = ["project_id", "name", "organization", "environment", "delete_requested", "created"]
    list_filter = ["environment", "organization"]
    search_fields = ["project_id", "name", "organization__slug"]
    readonly_fields = ["uuid", "delete_requested", "created", "updated"]
    inlines = [AppInline]

    def get_readonly_fields(self, request, obj=None):  # type: ignore[no-untyped-def]
        return [*self.readonly_fields, "project_id", "organization"] if obj else self.readonly_fields

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        """A deleting project is shown, not changed (its apps neither)."""
        return super().has_change_permission(request, obj) and not (obj is not None and obj.deleting)

    def get_deleted_objects(self, objs, request):  # type: ignore[no-untyped-def]
        """The pipeline does not block the delete: it is deleted first (its resources, then it)."""
        to_delete, model_count, perms_needed, _protected = super().get_deleted_objects(objs, request)
        pipelines = {str(p.pipeline._meta.verbose_name) for p in objs if p.has_pipeline}
        return to_delete, model_count, set(perms_needed) - pipelines, []

    def delete_model(self, request, obj):  # type: ignore[no-untyped-def]
        try:
            gone = services.project_delete(project=obj)
        except services.DeleteRefused as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return
        if not gone:
            self.message_user(
                request,
                f"Deleting project {obj}: its pipeline's resources are deleted first, then the project.",
                messages.INFO,
            )

    def delete_queryset(self, request, queryset):  # type: ignore[no-untyped-def]
        for project in queryset:
            self.delete_model(request, project)


@admin.register(App)
class AppAdmin(admin.ModelAdmin):
    list_display = ["app_id", "name", "project", "organization", "timezone", "created"]
    list_filter = ["organization", "timezone"]
    search_fields = ["app_id", "name", "project__project_id"]
    readonly_fields = ["uuid", "created", "updated", "data_since", "sdk_config"]

    def get_readonly_fields(self, request, obj=None):  # type: ignore[no-untyped-def]
        return [*self.readonly_fields, "app_id", "project", "organization"] if obj else self.readonly_fields

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        """An app of a deleting project goes with it: shown, not changed or deleted alone."""
        return super().has_change_permission(request, obj) and not (obj is not None and obj.project.deleting)

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return super().has_delete_permission(request, obj) and not (obj is not None and obj.project.deleting)

    @admin.display(description="SDK configuration (amplifyconfiguration.json)")
    def sdk_config(self, obj: App) -> str:
        if obj.pk is None:
            return "—"
        return format_html("<pre>{}</pre>", json.dumps(services.app_sdk_config(app=obj), indent=2))
