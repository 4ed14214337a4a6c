from __future__ import annotations

from rest_framework import serializers

from pipelines.choices import AlarmState, SubscriptionState
from pipelines.models import Alarm, AlarmSubscription
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
            "drift",
            "drift_reason",
            "drift_checked",
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


class AlarmSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    project_id = serializers.CharField(source="pipeline.project.project_id", read_only=True)
    short_name = serializers.CharField(
        read_only=True, help_text="The name without `Clickstream|<projectId> `."
    )
    state = serializers.ChoiceField(choices=AlarmState.choices, read_only=True)
    console_url = serializers.CharField(read_only=True, help_text="The alarm in the CloudWatch console.")

    class Meta:
        model = Alarm
        fields = ["id", "project_id", "name", "short_name", "arn", "region", "description", "state", "reason",
                  "state_changed", "actions_enabled", "console_url", "refreshed"]  # fmt: skip
        read_only_fields = fields


class AlarmSubscriptionSerializer(serializers.ModelSerializer):
    project_id = serializers.CharField(source="pipeline.project.project_id", read_only=True)
    state = serializers.ChoiceField(choices=SubscriptionState.choices, read_only=True)

    class Meta:
        model = AlarmSubscription
        fields = ["project_id", "email", "state", "pending", "refreshed"]
        read_only_fields = fields


class AwsFailureSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="The call AWS refused or could not answer, and why.")
