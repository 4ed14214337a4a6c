"""The base serializer: model validation (field rules, constraints, clean()) is the one place rules live."""

from __future__ import annotations

import copy
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from portal.models import (
    ApiToken,
    AuditLogEntry,
    AwsAccount,
    Invitation,
    Job,
    JobLog,
    Membership,
    Organization,
)
from portal.models.tenancy import validate_roles
from portal.roles import Role
from portal.views.base import membership_for


class TenantModelSerializer(serializers.ModelSerializer):
    """Validates by running the model's own `full_clean()` on the would-be object.

    The view puts the organization (and parent) into the context as `scope`, so per-organization uniqueness
    is checked too. `immutable_fields` may be given on create and never changed afterwards.
    """

    immutable_fields: tuple[str, ...] = ()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        if self.instance is not None:
            changed = [
                f for f in self.immutable_fields if f in attrs and attrs[f] != getattr(self.instance, f)
            ]
            if changed:
                raise serializers.ValidationError(
                    {f: "This cannot be changed after creation." for f in changed}
                )
        candidate = copy.copy(self.instance) if self.instance is not None else self.Meta.model()  # type: ignore[misc]
        for name, value in {**attrs, **self.context.get("scope", {})}.items():
            setattr(candidate, name, value)
        try:
            candidate.full_clean()
        except DjangoValidationError as exc:
            raise serializers.ValidationError(serializers.as_serializer_error(exc)) from None
        return attrs


class RolesField(serializers.ListField):
    child = serializers.ChoiceField(choices=Role.choices)

    def to_internal_value(self, data: Any) -> list[str]:
        roles = super().to_internal_value(data)
        try:
            validate_roles(roles)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from None
        return [r for r in Role.values if r in roles]


class OrganizationSerializer(TenantModelSerializer):
    immutable_fields = ("slug",)
    roles = serializers.SerializerMethodField(help_text="Your roles in this organization.")

    class Meta:
        model = Organization
        fields = ["slug", "name", "roles", "created", "updated"]
        extra_kwargs = {"slug": {"required": False}}

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if self.instance is None and not attrs.get("slug"):
            from portal.services import unique_org_slug

            attrs["slug"] = unique_org_slug(attrs.get("name", ""))
        return super().validate(attrs)

    def get_roles(self, obj: Organization) -> list[str]:
        membership = membership_for(self.context["request"], obj.slug)
        return membership.roles if membership else []


class MemberSerializer(TenantModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    email = serializers.EmailField(source="user.email", read_only=True)
    roles = RolesField()

    class Meta:
        model = Membership
        fields = ["id", "email", "roles", "created", "updated"]


class InvitationSerializer(TenantModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    roles = RolesField()
    invited_by = serializers.EmailField(source="invited_by.email", read_only=True, default=None)

    class Meta:
        model = Invitation
        fields = ["id", "email", "roles", "invited_by", "created", "expires", "accepted_at"]
        read_only_fields = ["expires", "accepted_at"]


class AuditLogEntrySerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    actor = serializers.CharField(source="actor_label", read_only=True)

    class Meta:
        model = AuditLogEntry
        fields = [
            "id",
            "timestamp",
            "actor",
            "source",
            "action",
            "object_type",
            "object_id",
            "object_repr",
            "changes",
        ]
        read_only_fields = fields


class ApiTokenSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)

    class Meta:
        model = ApiToken
        fields = ["id", "name", "hint", "read_only", "expires", "created", "last_used"]
        read_only_fields = ["hint", "created", "last_used"]


class ApiTokenCreatedSerializer(ApiTokenSerializer):
    token = serializers.CharField(read_only=True, help_text="The secret: shown only in this response.")

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "token"]


class JobLogSerializer(serializers.ModelSerializer):
    class Meta:
        model = JobLog
        fields = ["at", "attempt", "level", "message"]
        read_only_fields = fields


class JobSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    duration_seconds = serializers.FloatField(read_only=True, allow_null=True)
    cancelling = serializers.BooleanField(source="is_cancelling", read_only=True)

    class Meta:
        model = Job
        fields = [
            "id", "kind", "name", "status", "cancelling", "attempts", "max_attempts", "next_try",
            "lease_seconds", "lease_expires", "cancel_requested", "progress", "step", "result", "error",
            "created", "started", "finished", "duration_seconds",
        ]  # fmt: skip
        read_only_fields = fields


class JobDetailSerializer(JobSerializer):
    """One job with its latest log lines (the list leaves them out: they can be many)."""

    log = JobLogSerializer(source="recent_log", many=True, read_only=True)

    class Meta(JobSerializer.Meta):
        fields = [*JobSerializer.Meta.fields, "log"]
        read_only_fields = fields


class AwsAccountSerializer(TenantModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    account_id = serializers.CharField(read_only=True, help_text="From the role ARN.")
    created_by = serializers.SerializerMethodField(help_text="Who connected it; null once they are gone.")

    class Meta:
        model = AwsAccount
        fields = [
            "id", "name", "role_arn", "region", "account_id", "external_id", "created_by", "created",
            "updated", "last_tested_at", "last_test_ok", "last_test_message",
        ]  # fmt: skip
        read_only_fields = ["external_id", "last_tested_at", "last_test_ok", "last_test_message"]

    def get_created_by(self, account: AwsAccount) -> str | None:
        return account.created_by.email if account.created_by else None


class AwsConnectionTestSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    message = serializers.CharField()
    account_id = serializers.CharField(allow_blank=True)
    failed_call = serializers.CharField(allow_blank=True, help_text="The AWS call that failed, if one did.")


class AwsRoleTemplateSerializer(serializers.Serializer):
    template = serializers.CharField(help_text="The CloudFormation template (YAML) that creates the role.")
    quick_create_url = serializers.CharField(
        allow_blank=True, help_text="The console link; empty when the portal has no template bucket."
    )
    principal = serializers.CharField(allow_blank=True, help_text="The portal's own AWS principal.")


class HealthPartSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["ok", "degraded"])
    detail = serializers.CharField(help_text="What the part's state means, for a person.")


class HealthPartsSerializer(serializers.Serializer):
    database = HealthPartSerializer()
    queue = HealthPartSerializer(help_text="The django-q2 worker cluster's heartbeat.")
    collector = HealthPartSerializer(help_text="The collector's own /health.")
    processing = HealthPartSerializer(help_text="The latest local processing run.")
    warehouse = HealthPartSerializer(help_text="DuckDB and the projects' warehouse files.")


class HealthSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["ok", "degraded"], help_text="ok when every part is ok.")
    parts = HealthPartsSerializer()
