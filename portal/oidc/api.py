"""The group mappings over the API: /api/v1/organizations/<org>/group-mappings/."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from portal.api.serializers import RolesField, TenantModelSerializer
from portal.api.viewsets import OrganizationViewSet
from portal.models import GroupMapping
from portal.roles import Perm


class GroupMappingSerializer(TenantModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    roles = RolesField()
    approved = serializers.BooleanField(
        read_only=True,
        help_text="Whether support staff approved this group for the organization; only then does it apply. "
        "Changing the group withdraws the approval.",
    )

    class Meta:
        model = GroupMapping
        fields = ["id", "group", "roles", "approved", "created", "updated"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        if self.instance is not None and attrs.get("group", self.instance.group) != self.instance.group:
            attrs["approved"] = False
        return attrs


class GroupMappingViewSet(OrganizationViewSet):
    """Identity-provider groups and the roles their members get in this organization at every sign-in."""

    model = GroupMapping
    serializer_class = GroupMappingSerializer
    read_permission = write_permission = Perm.MANAGE_ORGANIZATION
    lookup_field = "uuid"
    ordering_fields = ["group", "created"]
    ordering = ["group"]
    filterset_fields = ["group"]
