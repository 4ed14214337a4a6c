from __future__ import annotations

from typing import Any

from rest_framework import serializers

from pipelines.models import Pipeline, PipelineVersion
from pipelines.plan import Change


class ProblemSerializer(serializers.Serializer):
    path = serializers.CharField(
        help_text="Dotted path of the field, e.g. `ingestion.sink.kinesis.shard_count`."
    )
    message = serializers.CharField()


class ParameterChangeSerializer(serializers.Serializer):
    key = serializers.CharField()
    old = serializers.CharField()
    new = serializers.CharField()


class PlanItemSerializer(serializers.Serializer):
    """One stack (aws) or step (local) of the plan, and what a save of this spec does to it."""

    name = serializers.CharField()
    kind = serializers.CharField()
    action = serializers.ChoiceField(choices=["create", "update", "unchanged"])
    depends_on = serializers.ListField(child=serializers.CharField())
    parameters = serializers.DictField(child=serializers.CharField())
    changed = ParameterChangeSerializer(many=True)

    def to_representation(self, change: Change) -> dict[str, Any]:
        r = change.resource
        return {
            "name": r.name, "kind": r.kind, "action": change.action, "depends_on": list(r.depends_on),
            "parameters": r.values(), "changed": [{"key": k, "old": a, "new": b} for k, a, b in change.changed],
        }  # fmt: skip


class PipelineSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    project_id = serializers.CharField(source="project.project_id", read_only=True)
    version = serializers.IntegerField(
        source="version_number", read_only=True, help_text="Send it back with PUT: the optimistic lock token."
    )
    spec = serializers.JSONField(read_only=True)
    # Plain text, not a URL field: it is empty until the provider knows the endpoint.
    ingestion_endpoint = serializers.CharField(
        read_only=True, help_text="Where the SDKs send events; empty until the pipeline has one."
    )

    class Meta:
        model = Pipeline
        fields = ["id", "project_id", "provider", "version", "spec", "ingestion_endpoint", "delete_requested",
                  "created", "updated"]  # fmt: skip
        read_only_fields = fields


class PipelineWriteSerializer(serializers.Serializer):
    version = serializers.IntegerField(
        min_value=0, help_text="The version your edit starts from (0 when creating); another is a 409."
    )
    spec = serializers.JSONField(help_text="The whole pipeline spec (schema_version 1).")
    summary = serializers.CharField(required=False, allow_blank=True, max_length=500)


class SpecSerializer(serializers.Serializer):
    spec = serializers.JSONField()


class ValidationResultSerializer(serializers.Serializer):
    valid = serializers.BooleanField()
    problems = ProblemSerializer(many=True)
    lookup_failures = serializers.ListField(
        child=serializers.CharField(),
        help_text="Account look-ups that could not run: the call and AWS's reason.",
    )
    plan = PlanItemSerializer(many=True, help_text="Present when the spec is valid.")


class PipelineVersionSerializer(serializers.ModelSerializer):
    author = serializers.EmailField(source="author.email", read_only=True, default=None)

    class Meta:
        model = PipelineVersion
        fields = ["number", "author", "summary", "created"]
        read_only_fields = fields


class FieldChangeSerializer(serializers.Serializer):
    path = serializers.CharField()
    old = serializers.JSONField(allow_null=True)
    new = serializers.JSONField(allow_null=True)


class PipelineVersionDetailSerializer(PipelineVersionSerializer):
    spec = serializers.JSONField(read_only=True)
    changes = FieldChangeSerializer(many=True, read_only=True, source="diff")

    class Meta(PipelineVersionSerializer.Meta):
        fields = [*PipelineVersionSerializer.Meta.fields, "spec", "changes"]
        read_only_fields = fields


class LookupResultSerializer(serializers.Serializer):
    kind = serializers.CharField()
    region = serializers.CharField()
    items = serializers.ListField(child=serializers.JSONField())


class LookupFailureSerializer(serializers.Serializer):
    detail = serializers.CharField()
    call = serializers.CharField(help_text="The AWS call that failed, e.g. `ec2:DescribeVpcs`.")
    reason = serializers.CharField(help_text="What AWS answered.")


class PluginSerializer(serializers.Serializer):
    name = serializers.CharField(
        help_text="What a spec names in processing.transformer / processing.enrichers."
    )
    kind = serializers.ChoiceField(choices=["transformer", "enricher"])
    description = serializers.CharField()
    version = serializers.CharField()
    source = serializers.CharField(help_text="`built-in`, or the installed distribution that provides it.")  # type: ignore[assignment]
    original_id = serializers.CharField(help_text="The original's built-in id (BUILT-IN-n), if any.")
