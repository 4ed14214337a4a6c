from __future__ import annotations

from django.contrib import admin

from pipelines.models import Pipeline


@admin.register(Pipeline)
class PipelineAdmin(admin.ModelAdmin):
    list_display = ["project", "organization", "ingestion_endpoint", "created"]
    list_filter = ["organization"]
    search_fields = ["project__project_id"]
