from __future__ import annotations

from rest_framework import serializers

from portal.api.serializers import TenantModelSerializer
from projects.choices import Platform
from projects.models import App, Project


class ProjectSerializer(TenantModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    app_count = serializers.SerializerMethodField()
    pipeline_status = serializers.CharField(read_only=True)
    deleting = serializers.BooleanField(
        read_only=True, help_text="Being deleted: its pipeline's resources go first, then the project."
    )

    immutable_fields = ("project_id",)

    class Meta:
        model = Project
        fields = [
            "id",
            "project_id",
            "name",
            "description",
            "emails",
            "environment",
            "app_count",
            "pipeline_status",
            "deleting",
            "delete_requested",
            "created",
            "updated",
        ]

        read_only_fields = ["delete_requested"]

    def get_app_count(self, obj: Project) -> int:
        return getattr(obj, "app_count", None) or obj.apps.count()


class AppSerializer(TenantModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    project_id = serializers.CharField(source="project.project_id", read_only=True)
    platforms = serializers.ListField(child=serializers.ChoiceField(choices=Platform.choices), required=False)

    immutable_fields = ("app_id",)

    class Meta:
        model = App
        fields = [
            "id",
            "project_id",
            "app_id",
            "name",
            "description",
            "platforms",
            "android_package",
            "ios_bundle_id",
            "timezone",
            "data_since",
            "created",
            "updated",
        ]
        read_only_fields = ["data_since"]
