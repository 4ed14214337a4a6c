from __future__ import annotations

from django.urls import path

from provisioning import views

app_name = "provisioning"

P = "projects/<str:project>/pipeline/"

urlpatterns = [
    path(f"{P}status/", views.PipelineStatusView.as_view(), name="status"),
    path(f"{P}retry/", views.PipelineRetryView.as_view(), name="retry"),
    path(f"{P}rollback/", views.PipelineRollbackContinueView.as_view(), name="rollback_continue"),
    path(
        "projects/<str:project>/apps/<str:app>/traffic/", views.AppTrafficView.as_view(), name="app_traffic"
    ),
]
