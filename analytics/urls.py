"""Included at the organization's root: `analytics/` picks a project; the rest lives under the project."""

from __future__ import annotations

from django.urls import path

from analytics import views

app_name = "analytics"
P = "projects/<str:project>/analytics/"
A = f"{P}<str:app>/"

urlpatterns = [
    path("analytics/", views.ProjectPickerView.as_view(), name="projects"),
    path(P, views.AnalyticsHomeView.as_view(), name="home"),
    path(f"{A}details/", views.DetailsView.as_view(), name="details"),
    path(f"{A}dashboards/<slug:sheet>/", views.SheetView.as_view(), name="sheet"),
    path(f"{A}explore/", views.ExploreView.as_view(), name="explore"),
    path(f"{A}explore/save/", views.ExploreSaveView.as_view(), name="explore_save"),
    path(f"{A}custom/", views.CustomDashboardListView.as_view(), name="dashboard_list"),
    path(f"{A}custom/<uuid:pk>/", views.CustomDashboardDetailView.as_view(), name="customdashboard_detail"),
    path(
        f"{A}custom/<uuid:pk>/delete/",
        views.CustomDashboardDeleteView.as_view(),
        name="customdashboard_delete",
    ),
    path(
        f"{A}analyses/<uuid:pk>/delete/", views.SavedAnalysisDeleteView.as_view(), name="savedanalysis_delete"
    ),
    path(f"{A}metadata/", views.MetadataView.as_view(), name="metadata"),
    path(f"{A}metadata/events/<uuid:pk>/", views.MetadataEditView.as_view(), name="eventmetadata_edit"),
    path(
        f"{A}metadata/attributes/<uuid:pk>/",
        views.AttributeMetadataEditView.as_view(),
        name="attributemetadata_edit",
    ),
]
