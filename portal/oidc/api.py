"""The group mappings over the API: /api/v1/organizations/<org>/group-mappings/."""

from __future__ import annotations

from rest_framework import serializers

from portal.api.serializers import RolesField, TenantModelSerializer
from portal.api.viewsets import OrganizationViewSet
from portal.models import GroupMapping
from portal.roles import Perm


class GroupMappingSerializer(TenantModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    roles = RolesField()

    class Meta:
        model = GroupMapping
        fields = ["id", "group", "roles", "created", "updated"]


class GroupMappingViewSet(OrganizationViewSet):
    """Identity-provider groups and the roles their members get in this organization at every sign-in."""

    model = GroupMapping
    serializer_class = GroupMappingSerializer
    read_permission = write_permission = Perm.MANAGE_ORGANIZATION
    lookup_field = "uuid"
    ordering_fields = ["group", "created"]
    ordering = ["group"]
    filterset_fields = ["group"]
