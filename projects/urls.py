from __future__ import annotations

from django.urls import path

from projects import views

app_name = "projects"

urlpatterns = [
    path("", views.ProjectListView.as_view(), name="project_list"),
    path("add/", views.ProjectEditView.as_view(), name="project_add"),
    path("<str:project>/", views.ProjectDetailView.as_view(), name="project"),
    path("<str:project>/edit/", views.ProjectEditView.as_view(), name="project_edit"),
    path("<str:project>/delete/", views.ProjectDeleteView.as_view(), name="project_delete"),
    path("<str:project>/apps/", views.AppListView.as_view(), name="app_list"),
    path("<str:project>/apps/add/", views.AppEditView.as_view(), name="app_add"),
    path("<str:project>/apps/<str:app>/", views.AppDetailView.as_view(), name="app"),
    path(
        "<str:project>/apps/<str:app>/amplifyconfiguration.json",
        views.AppSdkConfigView.as_view(),
        name="app_sdk_config",
    ),
    path("<str:project>/apps/<str:app>/edit/", views.AppEditView.as_view(), name="app_edit"),
    path("<str:project>/apps/<str:app>/delete/", views.AppDeleteView.as_view(), name="app_delete"),
]
