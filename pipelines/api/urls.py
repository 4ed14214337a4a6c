from __future__ import annotations

from django.urls import path

from pipelines.api import views

BASE = "organizations/<str:org>/projects/<str:project>/pipeline/"

urlpatterns = [
    path(BASE, views.PipelineViewSet.as_view({"get": "retrieve", "put": "update", "delete": "destroy"}),
         name="pipeline"),
    path(f"{BASE}validate/", views.PipelineValidateViewSet.as_view({"get": "retrieve", "post": "create"}),
         name="pipeline-validate"),
    path(f"{BASE}versions/", views.PipelineVersionViewSet.as_view({"get": "list"}), name="pipelineversion-list"),
    path(f"{BASE}versions/<int:number>/", views.PipelineVersionViewSet.as_view({"get": "retrieve"}),
         name="pipelineversion-detail"),
    path("organizations/<str:org>/aws-accounts/<uuid:account>/lookups/<str:kind>/",
         views.AwsLookupViewSet.as_view({"get": "retrieve"}), name="aws-lookup"),
    path("organizations/<str:org>/plugins/", views.PluginViewSet.as_view({"get": "list"}), name="plugin-list"),
]  # fmt: skip
