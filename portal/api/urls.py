from __future__ import annotations

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import SimpleRouter

from portal.api import views
from portal.oidc.api import GroupMappingViewSet

ORG = r"organizations/(?P<org>[^/.]+)"

router = SimpleRouter()
router.register(r"organizations", views.OrganizationsViewSet, basename="organization")
router.register(rf"{ORG}/members", views.MemberViewSet, basename="member")
router.register(rf"{ORG}/invitations", views.InvitationViewSet, basename="invitation")
router.register(rf"{ORG}/audit-log", views.AuditLogViewSet, basename="auditlog")
router.register(rf"{ORG}/tokens", views.ApiTokenViewSet, basename="token")
router.register(rf"{ORG}/jobs", views.JobViewSet, basename="job")
router.register(rf"{ORG}/group-mappings", GroupMappingViewSet, basename="groupmapping")
router.register(rf"{ORG}/aws-accounts", views.AwsAccountViewSet, basename="awsaccount")

app_name = "api"
urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    path("health", views.HealthView.as_view(), name="health"),
    *router.urls,
    # Domain apps' endpoints, included by dotted name: the portal imports no domain app.
    path("", include("projects.api.urls")),
    path("", include("pipelines.api.urls")),
    path("", include("provisioning.api.urls")),
    path("", include("analytics.api.urls")),
]
