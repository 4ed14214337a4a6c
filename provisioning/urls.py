from __future__ import annotations

from django.urls import path

from provisioning import views

app_name = "provisioning"

P = "projects/<str:project>/pipeline/"

urlpatterns = [
    path(f"{P}status/", views.PipelineStatusView.as_view(), name="status"),
    path(f"{P}retry/", views.PipelineRetryView.as_view(), name="retry"),
    path(f"{P}upgrade/", views.PipelineUpgradeView.as_view(), name="upgrade"),
    path(f"{P}rollback/", views.PipelineRollbackContinueView.as_view(), name="rollback_continue"),
    path(f"{P}templates/", views.PipelineTemplatesView.as_view(), name="templates"),
    path(
        f"{P}templates/<str:stack>/", views.PipelineTemplateDownloadView.as_view(), name="template_download"
    ),
    path(
        "projects/<str:project>/apps/<str:app>/traffic/", views.AppTrafficView.as_view(), name="app_traffic"
    ),
    path("alarms/", views.AlarmListView.as_view(), name="alarms"),
    path("alarms/<uuid:pk>/", views.AlarmDetailView.as_view(), name="alarm"),
    path("alarms/<uuid:pk>/enable/", views.AlarmActionsView.as_view(enabled=True), name="alarm_enable"),
    path("alarms/<uuid:pk>/disable/", views.AlarmActionsView.as_view(enabled=False), name="alarm_disable"),
    path(f"{P}process/", views.ProcessNowView.as_view(), name="process_now"),
    path(
        "projects/<str:project>/apps/<str:app>/test-event/",
        views.AppTestEventView.as_view(),
        name="app_test_event",
    ),
    path("demo/", views.DemoStartView.as_view(), name="demo"),
]
