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


class UpgradeOfferSerializer(serializers.Serializer):
    """What an upgrade changes: the templates' version deployed now and this release's."""

    from_version = serializers.CharField()
    to_version = serializers.CharField()
    stacks = serializers.ListField(child=serializers.CharField(), help_text="The stacks it updates.")


class PipelineStatusSerializer(serializers.Serializer):
    """The derived status: aggregate, the last action and what runs, progress, and every resource."""

    status = serializers.CharField(help_text="One of " + ", ".join(PipelineStatus.values) + ".")
    action = serializers.CharField(help_text="The last action: Create, Update, Upgrade or Delete.")
    running_action = serializers.CharField(help_text="What runs now ('' when nothing does).")
    run_state = serializers.CharField()
    reason = serializers.CharField()
    busy = serializers.BooleanField()
    done = serializers.IntegerField()
    total = serializers.IntegerField()
    percent = serializers.IntegerField()
    resources = ResourceSerializer(many=True)
    upgrade = UpgradeOfferSerializer(
        allow_null=True, help_text="Set when stacks run an older release's templates: POST upgrade/."
    )


class RollbackContinueSerializer(serializers.Serializer):
    """Which stack's rollback to continue (one in UPDATE_ROLLBACK_FAILED)."""

    stack = serializers.CharField(max_length=128, help_text="The stack's name, as in the status's resources.")


class TemplateParameterSerializer(serializers.Serializer):
    """A template parameter: the value the control plane sends, or the template's default that applies."""

    key = serializers.CharField()
    type = serializers.CharField()
    value = serializers.CharField(allow_blank=True)
    sent = serializers.BooleanField(help_text="False when the template's default applies.")
    default = serializers.CharField(allow_blank=True)
    allowed_values = serializers.ListField(child=serializers.CharField())
    description = serializers.CharField(allow_blank=True)
    output_of = serializers.CharField(
        allow_blank=True, help_text="The stack whose output fills the value (`#.<stack>.<Output>`), else ''."
    )


class TemplateLinksSerializer(serializers.Serializer):
    detail = serializers.URLField()
    template = serializers.URLField(help_text="`<stack>.json` as an attachment.")
    parameters = serializers.URLField(help_text="`<stack>.parameters.json` as an attachment.")


class StackTemplateSummarySerializer(serializers.Serializer):
    """One stack of the pipeline, in the order the provider creates them."""

    stack = serializers.CharField(help_text="The stack's kind, which names it in the URL (e.g. Ingestion).")
    name = serializers.CharField(help_text="The CloudFormation stack name.")
    depends_on = serializers.ListField(child=serializers.CharField(), help_text="Kinds created before it.")
    parameter_count = serializers.IntegerField()
    resource_count = serializers.IntegerField()
    links = TemplateLinksSerializer()


class StackTemplateSerializer(StackTemplateSummarySerializer):
    template = serializers.JSONField(help_text="The CloudFormation template.")
    parameters = TemplateParameterSerializer(many=True)


class ParameterFileEntrySerializer(serializers.Serializer):
    """An entry of `<stack>.parameters.json` (CloudFormation's `--parameters file://…` form)."""

    ParameterKey = serializers.CharField()
    ParameterValue = serializers.CharField(allow_blank=True)


class TemplateFileSerializer(serializers.Serializer):
    """`<stack>.json`: a CloudFormation template (only its main sections are described here)."""

    AWSTemplateFormatVersion = serializers.CharField()
    Parameters = serializers.DictField(child=serializers.JSONField())
    Resources = serializers.DictField(child=serializers.JSONField())


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
