from __future__ import annotations

from django.urls import path

from provisioning.api import views

BASE = "organizations/<str:org>/projects/<str:project>/pipeline/"

urlpatterns = [
    path(f"{BASE}status/", views.PipelineStatusViewSet.as_view({"get": "retrieve"}), name="pipeline-status"),
    path(f"{BASE}retry/", views.PipelineStatusViewSet.as_view({"post": "retry"}), name="pipeline-retry"),
    path(
        f"{BASE}rollback/",
        views.PipelineStatusViewSet.as_view({"post": "rollback_continue"}),
        name="pipeline-rollback-continue",
    ),
]
