from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import include, path

from portal.views import aws as aws_views
from portal.views import jobs as job_views
from portal.views import organization as org_views
from portal.views import sso as sso_views
from portal.views import system as system_views


def health(request: HttpRequest) -> HttpResponse:
    return HttpResponse("OK", content_type="text/plain")


ORG = "o/<slug:org>/"

urlpatterns = [
    path("", org_views.home, name="home"),
    path("health/", health, name="health"),
    path("system/health/", system_views.health_page, name="system_health"),
    path("accounts/", include("allauth.urls")),
    path("oidc/", include("portal.oidc.urls")),
    path("sign-in/no-access/", sso_views.no_access, name="sso_no_access"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("portal.api.urls")),
    path("organizations/new/", org_views.organization_create, name="organization_create"),
    path("invitations/<str:key>/", org_views.invitation_accept, name="invitation_accept"),
    path(ORG, org_views.OrganizationHomeView.as_view(), name="org_home"),
    path(f"{ORG}settings/", org_views.OrganizationEditView.as_view(), name="org_settings"),
    path(f"{ORG}members/", org_views.MemberListView.as_view(), name="members"),
    path(f"{ORG}members/<uuid:pk>/edit/", org_views.MemberEditView.as_view(), name="member_edit"),
    path(f"{ORG}members/<uuid:pk>/delete/", org_views.MemberDeleteView.as_view(), name="member_delete"),
    path(f"{ORG}invitations/add/", org_views.InvitationCreateView.as_view(), name="invitation_add"),
    path(
        f"{ORG}invitations/<uuid:pk>/resend/",
        org_views.InvitationResendView.as_view(),
        name="invitation_resend",
    ),
    path(
        f"{ORG}invitations/<uuid:pk>/delete/",
        org_views.InvitationDeleteView.as_view(),
        name="invitation_delete",
    ),
    path(f"{ORG}audit-log/", org_views.AuditLogView.as_view(), name="audit_log"),
    path(f"{ORG}tokens/", org_views.ApiTokenListView.as_view(), name="tokens"),
    path(f"{ORG}tokens/add/", org_views.ApiTokenCreateView.as_view(), name="token_add"),
    path(f"{ORG}tokens/<uuid:pk>/delete/", org_views.ApiTokenDeleteView.as_view(), name="token_delete"),
    path(f"{ORG}jobs/", job_views.JobListView.as_view(), name="jobs"),
    path(f"{ORG}jobs/<uuid:pk>/", job_views.JobDetailView.as_view(), name="job"),
    path(f"{ORG}jobs/<uuid:pk>/cancel/", job_views.JobCancelView.as_view(), name="job_cancel"),
    path(f"{ORG}sign-in/", sso_views.SignInSettingsView.as_view(), name="groupmapping_list"),
    path(f"{ORG}sign-in/groups/add/", sso_views.GroupMappingEditView.as_view(), name="groupmapping_add"),
    path(
        f"{ORG}sign-in/groups/<uuid:pk>/edit/",
        sso_views.GroupMappingEditView.as_view(),
        name="groupmapping_edit",
    ),
    path(
        f"{ORG}sign-in/groups/<uuid:pk>/delete/",
        sso_views.GroupMappingDeleteView.as_view(),
        name="groupmapping_delete",
    ),
    path(f"{ORG}aws-accounts/", aws_views.AwsAccountListView.as_view(), name="awsaccount_list"),
    path(f"{ORG}aws-accounts/add/", aws_views.AwsAccountEditView.as_view(), name="awsaccount_add"),
    path(f"{ORG}aws-accounts/<uuid:pk>/", aws_views.AwsAccountDetailView.as_view(), name="awsaccount"),
    path(
        f"{ORG}aws-accounts/<uuid:pk>/edit/", aws_views.AwsAccountEditView.as_view(), name="awsaccount_edit"
    ),
    path(
        f"{ORG}aws-accounts/<uuid:pk>/delete/",
        aws_views.AwsAccountDeleteView.as_view(),
        name="awsaccount_delete",
    ),
    path(
        f"{ORG}aws-accounts/<uuid:pk>/template/",
        aws_views.AwsAccountTemplateView.as_view(),
        name="awsaccount_template",
    ),
    # Domain apps, included by dotted name: the portal imports no domain app.
    path(f"{ORG}projects/", include("projects.urls")),
    path(ORG, include("pipelines.urls")),
    path(ORG, include("provisioning.urls")),
    path(ORG, include("analytics.urls")),
]

# Errors in the portal's layout, or `{"detail": …}` under /api/ (portal/views/errors.py).
handler400 = "portal.views.errors.bad_request"
handler403 = "portal.views.errors.permission_denied"
handler404 = "portal.views.errors.page_not_found"
handler500 = "portal.views.errors.server_error"
