from __future__ import annotations

from django.contrib import admin

from analytics.models import AttributeMetadata, CustomDashboard, EventMetadata, SavedAnalysis


class SavedAnalysisInline(admin.TabularInline):
    model = SavedAnalysis
    extra = 0
    fields = ["title", "spec", "created_by"]
    readonly_fields = ["created_by"]


@admin.register(CustomDashboard)
class CustomDashboardAdmin(admin.ModelAdmin):
    list_display = ["name", "app", "organization", "created_by", "updated"]
    list_filter = ["organization"]
    search_fields = ["name", "app__app_id"]
    readonly_fields = ["uuid", "created", "updated"]
    inlines = [SavedAnalysisInline]


@admin.register(SavedAnalysis)
class SavedAnalysisAdmin(admin.ModelAdmin):
    """Saved analyses on their own too, so support staff can find one by title across dashboards."""

    list_display = ["title", "dashboard", "organization", "created_by", "created"]
    list_filter = ["organization"]
    search_fields = ["title", "dashboard__name"]
    readonly_fields = ["uuid", "created"]


@admin.register(EventMetadata)
class EventMetadataAdmin(admin.ModelAdmin):
    """Support staff edit what users may edit; scanned figures stay read-only."""

    list_display = ["name", "display_name", "app", "organization", "count", "last_seen"]
    list_filter = ["organization"]
    search_fields = ["name", "display_name", "app__app_id"]
    fields = [
        "app",
        "name",
        "display_name",
        "description",
        "count",
        "platforms",
        "first_seen",
        "last_seen",
        "scanned",
    ]
    readonly_fields = ["app", "name", "count", "platforms", "first_seen", "last_seen", "scanned"]

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(AttributeMetadata)
class AttributeMetadataAdmin(EventMetadataAdmin):
    list_display = ["name", "kind", "value_type", "display_name", "app", "organization", "count"]
    list_filter = ["kind", "value_type", "organization"]
    fields = ["app", "kind", "name", "value_type", "display_name", "description", "count", "top_values",
              "platforms", "events", "first_seen", "last_seen", "scanned"]  # fmt: skip
    readonly_fields = ["app", "kind", "name", "value_type", "count", "top_values", "platforms", "events",
                       "first_seen", "last_seen", "scanned"]  # fmt: skip
