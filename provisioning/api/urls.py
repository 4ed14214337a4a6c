from __future__ import annotations

from django.urls import path

from provisioning.api import views

BASE = "organizations/<str:org>/projects/<str:project>/pipeline/"

urlpatterns = [
    path(f"{BASE}status/", views.PipelineStatusViewSet.as_view({"get": "retrieve"}), name="pipeline-status"),
    path(f"{BASE}retry/", views.PipelineStatusViewSet.as_view({"post": "retry"}), name="pipeline-retry"),
    path(f"{BASE}upgrade/", views.PipelineStatusViewSet.as_view({"post": "upgrade"}), name="pipeline-upgrade"),
    path(
        f"{BASE}rollback/",
        views.PipelineStatusViewSet.as_view({"post": "rollback_continue"}),
        name="pipeline-rollback-continue",
    ),
    path(f"{BASE}templates/", views.PipelineTemplateViewSet.as_view({"get": "list"}), name="pipeline-template-list"),
    path(f"{BASE}templates/<str:stack>/", views.PipelineTemplateViewSet.as_view({"get": "retrieve"}),
         name="pipeline-template-detail"),
    path("organizations/<str:org>/alarms/", views.AlarmViewSet.as_view({"get": "list"}), name="alarm-list"),
    path("organizations/<str:org>/alarms/<uuid:uuid>/", views.AlarmViewSet.as_view({"get": "retrieve"}),
         name="alarm-detail"),
    path("organizations/<str:org>/alarms/<uuid:uuid>/enable/", views.AlarmViewSet.as_view({"post": "enable"}),
         name="alarm-enable"),
    path("organizations/<str:org>/alarms/<uuid:uuid>/disable/", views.AlarmViewSet.as_view({"post": "disable"}),
         name="alarm-disable"),
    path("organizations/<str:org>/alarm-subscriptions/",
         views.AlarmSubscriptionViewSet.as_view({"get": "list"}), name="alarmsubscription-list"),
]  # fmt: skip
