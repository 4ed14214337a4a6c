from __future__ import annotations

from django.urls import re_path
from rest_framework.routers import SimpleRouter

from analytics.api import views

APP = r"organizations/(?P<org>[^/.]+)/projects/(?P<project>[^/.]+)/analytics/apps/(?P<app>[^/.]+)"

router = SimpleRouter()
router.register(rf"{APP}/dashboards", views.CustomDashboardViewSet, basename="analytics-customdashboard")
router.register(rf"{APP}/analyses", views.SavedAnalysisViewSet, basename="analytics-savedanalysis")
router.register(rf"{APP}/events", views.EventMetadataViewSet, basename="analytics-eventmetadata")
router.register(rf"{APP}/attributes", views.AttributeMetadataViewSet, basename="analytics-attributemetadata")

urlpatterns = [
    # Not collections of objects: explore runs a query (GET lists what can be explored), sheets are read.
    re_path(rf"^{APP}/explore/$", views.ExploreViewSet.as_view({"get": "list", "post": "create"}),
            name="analytics-explore"),
    re_path(rf"^{APP}/sheets/$", views.SheetViewSet.as_view({"get": "list"}), name="analytics-sheet-list"),
    re_path(rf"^{APP}/sheets/(?P<sheet>[a-z]+)/$", views.SheetViewSet.as_view({"get": "retrieve"}),
            name="analytics-sheet-detail"),
    *router.urls,
]  # fmt: skip
