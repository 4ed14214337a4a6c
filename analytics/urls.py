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
]
