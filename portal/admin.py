"""Django admin for support staff: every organization is visible here (the default manager is unscoped)."""

from __future__ import annotations

from typing import Any

from allauth.account.decorators import secure_admin_login
from django.apps import apps as django_apps
from django.contrib import admin
from django.http import HttpRequest

from portal import services
from portal.jobs import job_cancel
from portal.models import (
    ApiToken,
    AuditLogEntry,
    AwsAccount,
    ExternalIdentity,
    GroupMapping,
    Invitation,
    Job,
    JobLog,
    Membership,
    Organization,
    OrganizationOwned,
)
from portal.views.organization import invitation_link

# Staff sign in through allauth like everyone else: two-factor, rate limits and the local sign-in policy
# (break-glass only when CLICKSTREAM_LOCAL_SIGNIN=false) apply to /admin/ too; its own password form is gone.
admin.site.login = secure_admin_login(admin.site.login)  # type: ignore[method-assign]


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]
    fields = ["user", "roles", "from_sso"]


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "member_count", "require_mfa", "created"]
    search_fields = ["name", "slug"]
    readonly_fields = ["uuid", "created", "updated"]
    inlines = [MembershipInline]

    @admin.display(description="Members")
    def member_count(self, obj: Organization) -> int:
        return obj.memberships.count()

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> tuple[Any, Any, set[str], Any]:
        """Histories (audit log, jobs and their lines, pipeline versions, deployments) cannot be deleted one
        by one, but everything a tenant owns goes with its organization; without this, admin refuses to delete
        any organization that has a history."""
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        owned = [m for m in django_apps.get_models() if issubclass(m, OrganizationOwned)] + [JobLog]
        perms_needed -= {str(m._meta.verbose_name) for m in owned}
        return deleted, counts, perms_needed, protected


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "organization", "roles", "created"]
    list_filter = ["organization"]
    search_fields = ["user__email", "organization__name", "organization__slug"]
    autocomplete_fields = ["user", "organization"]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["email", "organization", "roles", "invited_by", "expires", "accepted_at"]
    list_filter = ["organization", "accepted_at"]
    search_fields = ["email", "organization__slug"]
    readonly_fields = ["key", "accepted_at", "accepted_by"]
    actions = ["resend"]

    @admin.action(description="Resend the selected open invitations (new links)")
    def resend(self, request: HttpRequest, queryset: Any) -> None:
        """Support staff resend for an organization's admin; deleting an invitation revokes it."""
        sent = 0
        for invitation in queryset.filter(accepted_at=None).select_related("organization", "invited_by"):
            services.invitation_resend(
                invitation=invitation, accept_url=lambda inv: invitation_link(request, inv)
            )
            sent += 1
        self.message_user(request, f"Resent {sent} invitation(s); accepted ones are left alone.")


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "hint", "user", "organization", "read_only", "expires", "last_used"]
    list_filter = ["read_only", "organization"]
    search_fields = ["name", "user__email", "hint"]
    readonly_fields = ["hint", "digest", "last_used", "created"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # a secret must be shown to its owner once; tokens are made in the UI, API or command


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AuditLogEntry)
class AuditLogEntryAdmin(ReadOnlyAdmin):
    list_display = [
        "timestamp",
        "organization",
        "actor_label",
        "source",
        "action",
        "object_type",
        "object_repr",
    ]
    list_filter = ["action", "source", "object_type", "organization"]
    search_fields = ["actor_label", "object_repr", "object_id"]
    date_hierarchy = "timestamp"

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class JobLogInline(admin.TabularInline):
    model = JobLog
    extra = 0
    fields = readonly_fields = ("at", "attempt", "level", "message")
    can_delete = False
    ordering = ["pk"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Job)
class JobAdmin(ReadOnlyAdmin):
    list_display = [
        "name", "kind", "organization", "status", "progress", "attempts", "max_attempts", "next_try",
        "lease_expires", "created", "started", "finished",
    ]  # fmt: skip
    list_filter = ["status", "kind", "organization"]
    search_fields = ["name", "kind", "error"]
    date_hierarchy = "created"
    inlines = [JobLogInline]
    actions = ["cancel_jobs"]

    @admin.action(description="Cancel the selected jobs (running ones stop at their next check-in)")
    def cancel_jobs(self, request: HttpRequest, queryset: Any) -> None:
        cancelled = sum(job_cancel(job=job) for job in queryset)
        self.message_user(request, f"Cancelled or asked to stop {cancelled} of {queryset.count()} jobs.")


@admin.register(JobLog)
class JobLogAdmin(ReadOnlyAdmin):
    list_display = ["at", "job", "attempt", "level", "message"]
    list_filter = ["level", "job__kind"]
    search_fields = ["message", "job__name"]
    list_select_related = ["job"]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(GroupMapping)
class GroupMappingAdmin(admin.ModelAdmin):
    """Staff approve that a group belongs to the organization mapping it; only approved mappings apply."""

    list_display = ["group", "organization", "roles", "approved", "updated"]
    list_filter = ["approved", "organization"]
    search_fields = ["group", "organization__slug"]
    actions = ["approve", "withdraw_approval"]

    @admin.action(description="Approve: the group belongs to the mapping's organization")
    def approve(self, request: HttpRequest, queryset: Any) -> None:
        self.message_user(request, f"Approved {self._set_approved(queryset, True)} mapping(s).")

    @admin.action(description="Withdraw the approval")
    def withdraw_approval(self, request: HttpRequest, queryset: Any) -> None:
        self.message_user(
            request, f"Withdrew the approval of {self._set_approved(queryset, False)} mapping(s)."
        )

    @staticmethod
    def _set_approved(queryset: Any, approved: bool) -> int:
        changed = [m for m in queryset if m.approved != approved]
        for mapping in changed:  # one save each, so the audit log records who approved what
            mapping.approved = approved
            mapping.save(update_fields=["approved", "updated"])
        return len(changed)


@admin.register(ExternalIdentity)
class ExternalIdentityAdmin(admin.ModelAdmin):
    list_display = ["subject", "issuer", "user", "last_login"]
    search_fields = ["subject", "user__email"]
    readonly_fields = ["groups", "created", "last_login"]
    autocomplete_fields = ["user"]


@admin.register(AwsAccount)
class AwsAccountAdmin(admin.ModelAdmin):
    list_display = ["name", "organization", "role_arn", "region", "last_test_ok", "last_tested_at"]
    list_filter = ["organization", "last_test_ok"]
    search_fields = ["name", "role_arn", "organization__slug"]
    readonly_fields = ["uuid", "external_id", "created", "updated", "last_tested_at", "last_test_ok",
                       "last_test_message"]  # fmt: skip
    autocomplete_fields = ["organization", "created_by"]
