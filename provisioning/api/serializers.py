from __future__ import annotations

from rest_framework import serializers

from provisioning.choices import PipelineStatus
from provisioning.models import PipelineResource


class ResourceSerializer(serializers.ModelSerializer):
    state = serializers.CharField(source="state_label")

    class Meta:
        model = PipelineResource
        fields = [
            "name",
            "kind",
            "depends_on",
            "state",
            "reason",
            "applied_version",
            "outputs",
            "events",
            "updated",
        ]
        read_only_fields = fields


class PipelineStatusSerializer(serializers.Serializer):
    """The derived status: aggregate, the last action and what runs, progress, and every resource."""

    status = serializers.CharField(help_text="One of " + ", ".join(PipelineStatus.values) + ".")
    action = serializers.CharField(help_text="The last action: Create, Update or Delete.")
    running_action = serializers.CharField(help_text="What runs now ('' when nothing does).")
    run_state = serializers.CharField()
    reason = serializers.CharField()
    busy = serializers.BooleanField()
    done = serializers.IntegerField()
    total = serializers.IntegerField()
    percent = serializers.IntegerField()
    resources = ResourceSerializer(many=True)


class RollbackContinueSerializer(serializers.Serializer):
    """Which stack's rollback to continue (one in UPDATE_ROLLBACK_FAILED)."""

    stack = serializers.CharField(max_length=128, help_text="The stack's name, as in the status's resources.")
