"""Analytics pages under a project: dashboards, details, explore, custom dashboards, metadata."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views.generic import TemplateView

from analytics.base import Scope
from analytics.dashboards import SHEETS, details_query, sheet_data
from analytics.forms import DEFAULT_DAYS, DetailsForm, ScopeForm
from analytics.warehouse import NoData, WarehouseError, warehouse_for
from portal.roles import Perm
from portal.views.base import OrganizationMixin
from projects.models import App, Project

SHEET_FIELDS = {"acquisition": ("top_n", "user_dim", "session_dim"), "engagement": ("top_n", "page_dim")}
SHEET_TABS = [*[(s.slug, s.title) for s in SHEETS.values()], ("details", "Details")]


class AnalyticsMixin(OrganizationMixin):
    """Resolves the project (and app) in the URL within the organization; unknown ones are 404."""

    permission = Perm.VIEW_ANALYTICS
    kwargs: dict[str, Any]
    request: HttpRequest

    def get_project(self) -> Project:
        if not hasattr(self, "_project"):
            self._project = get_object_or_404(
                Project.objects.for_organization(self.organization), project_id=self.kwargs["project"]
            )
        return self._project

    def get_app(self) -> App:
        if not hasattr(self, "_app"):
            self._app = get_object_or_404(self.get_project().apps.all(), app_id=self.kwargs["app"])
        return self._app

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        project = self.get_project()
        context.update(
            project=project,
            apps=project.apps.order_by("name"),
            sheet_tabs=SHEET_TABS,
            can_manage_analytics=self.membership.has_perm(Perm.MANAGE_ANALYTICS),
        )
        if "app" in self.kwargs:
            context["app"] = self.get_app()
        return context


class AnalyticsHomeView(AnalyticsMixin, TemplateView):
    """The project's analytics start: the first app's overview, or a note that no app is registered."""

    template_name = "analytics/home.html"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        app = self.get_project().apps.order_by("name").first()
        if app is None:
            return super().get(request, *args, **kwargs)
        return HttpResponseRedirect(
            reverse("analytics:sheet", kwargs={**kwargs, "app": app.app_id, "sheet": "overview"})
        )


class SheetView(AnalyticsMixin, TemplateView):
    template_name = "analytics/sheet.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        sheet = SHEETS.get(self.kwargs["sheet"])
        if sheet is None:
            raise Http404("No such dashboard sheet.")
        app = self.get_app()
        today = _today(app)
        defaults = {"start": today - timedelta(days=DEFAULT_DAYS - 1), "end": today}
        form = ScopeForm({**defaults, **self.request.GET.dict()}, today=today)
        shown = ("start", "end", "platform", *SHEET_FIELDS.get(sheet.slug, ()))
        context.update(sheet=sheet, form=form, data=None, error=None, shown_fields=shown)
        if form.is_valid():
            try:
                context["data"] = sheet_data(
                    sheet=sheet, warehouse=warehouse_for(self.get_project()),
                    scope=form.scope(app=app), options=form.options(),
                )  # fmt: skip
            except (NoData, WarehouseError) as exc:
                context["error"] = str(exc)
        return context


class DetailsView(AnalyticsMixin, TemplateView):
    template_name = "analytics/details.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        app = self.get_app()
        form = DetailsForm(self.request.GET)
        context.update(
            form=form, sheet={"slug": "details", "title": "Details"}, columns=[], rows=[], error=None
        )
        if form.is_valid():
            data = form.cleaned_data
            end_day = (data["end"].date() if data.get("end") else _today(app)) + timedelta(days=1)
            start_day = (
                data["start"].date() - timedelta(days=1)
                if data.get("start")
                else end_day - timedelta(days=31)
            )
            scope = Scope(app_id=app.app_id, project_id=app.project.project_id, timezone=app.timezone,
                          start=start_day, end=end_day)  # fmt: skip
            try:
                result = warehouse_for(self.get_project()).run(
                    details_query(scope=scope, filters=data), app_id=app.app_id
                )
                context.update(columns=result.columns, rows=result.rows)
            except (NoData, WarehouseError) as exc:
                context["error"] = str(exc)
        return context


def _today(app: App) -> Any:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    return datetime.now(ZoneInfo(app.timezone)).date()


class ProjectPickerView(OrganizationMixin, TemplateView):
    """The Analytics menu entry: the organization's projects (Analyst Readers may not list projects otherwise)."""

    permission = Perm.VIEW_ANALYTICS
    template_name = "analytics/projects.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["projects"] = Project.objects.for_organization(self.organization).prefetch_related("apps")
        return context
