from __future__ import annotations

from django.urls import path

from pipelines import views

app_name = "pipelines"

P = "projects/<str:project>/pipeline/"

urlpatterns = [
    path(P, views.PipelineDetailView.as_view(), name="pipeline"),
    path(f"{P}edit/", views.PipelineWizardView.as_view(), name="pipeline_edit"),
    path(f"{P}history/", views.PipelineHistoryView.as_view(), name="history"),
    path(f"{P}versions/<int:number>/", views.PipelineVersionView.as_view(), name="version"),
    path(f"{P}delete/", views.PipelineDeleteView.as_view(), name="pipeline_delete"),
    path(f"{P}lookups/<str:kind>/", views.LookupPickerView.as_view(), name="lookup"),
    path("plugins/", views.PluginListView.as_view(), name="plugins"),
]
