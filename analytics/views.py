"""Analytics pages under a project: dashboards, details, explore, custom dashboards, metadata."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views.generic import TemplateView

from analytics.base import Scope
from analytics.dashboards import SHEETS, details_query, sheet_data
from analytics.forms import (
    DEFAULT_DAYS,
    CustomDashboardForm,
    DetailsForm,
    ExploreForm,
    MetadataForm,
    ScopeForm,
)
from analytics.models import AttributeMetadata, CustomDashboard, EventMetadata, SavedAnalysis
from analytics.results import explore_json, result_csv
from analytics.warehouse import NoData, WarehouseError, warehouse_for
from portal.roles import Perm
from portal.views.base import OrganizationMixin, current_user
from portal.views.generic import redirect
from projects.models import App, Project

SHEET_FIELDS = {"acquisition": ("top_n", "user_dim", "session_dim"), "engagement": ("top_n", "page_dim")}
SHEET_TABS = [*[(s.slug, s.title) for s in SHEETS.values()], ("details", "Details")]


class AnalyticsMixin(OrganizationMixin):
    """The project in the URL is the framework's parent (found within the organization, 404 otherwise); the
    app is found within that project."""

    abstract = True
    read_permission = Perm.VIEW_ANALYTICS
    write_permission = Perm.MANAGE_ANALYTICS
    parent_model = Project
    parent_lookup = "project_id"
    parent: Project
    kwargs: dict[str, Any]
    request: HttpRequest

    def get_project(self) -> Project:
        return self.parent

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

    read_permission = Perm.VIEW_ANALYTICS
    template_name = "analytics/projects.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["projects"] = Project.objects.for_organization(self.organization).prefetch_related("apps")
        return context


def _flatten(errors: Any, prefix: str = "") -> list[str]:
    """Serializer errors (nested dicts and lists) as readable lines: 'steps → 1 → event: Unknown event…'."""
    if isinstance(errors, dict):
        return [
            line
            for k, v in errors.items()
            for line in _flatten(v, f"{prefix}{k} → " if k != "non_field_errors" else prefix)
        ]
    if isinstance(errors, list):
        out = []
        for i, v in enumerate(errors):
            out += _flatten(v, f"{prefix}{i + 1} → " if isinstance(v, dict) else prefix)
        return out
    return [f"{prefix.rstrip(' →')}: {errors}" if prefix else str(errors)]


class ExploreView(AnalyticsMixin, TemplateView):
    """The analytics studio: build an exploration, see its chart and table, export CSV, save it."""

    read_permission = write_permission = Perm.MANAGE_ANALYTICS
    template_name = "analytics/explore.html"

    def form(self, data: Any = None) -> ExploreForm:
        app = self.get_app()
        events = EventMetadata.objects.for_organization(self.organization).filter(app=app)
        attributes = AttributeMetadata.objects.for_organization(self.organization).filter(app=app)
        return ExploreForm(
            data,
            events=[(e.name, f"{e.display_name} ({e.name})" if e.display_name else e.name) for e in events],
            attributes=[(f"{a.category}:{a.name}", str(a)) for a in attributes],
        )

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.setdefault("form", self.form())
        context["active"] = "explore"
        context["dashboards"] = CustomDashboard.objects.for_organization(self.organization).filter(
            app=self.get_app()
        )
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = self.form(request.POST)
        context: dict[str, Any] = {"form": form, "errors": [], "result": None}
        if form.is_valid():
            spec = form.spec()
            result, errors = explore_json(app=self.get_app(), body=spec)
            if result is not None and request.POST.get("export") == "csv":
                response = HttpResponse(result_csv(result), content_type="text/csv")
                response["Content-Disposition"] = f'attachment; filename="{spec["type"]}.csv"'
                return response
            context.update(result=result, errors=_flatten(errors), spec_json=json.dumps(spec))
            if result is not None:
                context["visual"] = {"dom_id": "explore-chart-data", "chart": result["chart"]["kind"],
                                     "data": result["chart"], "title": spec["type"]}  # fmt: skip
        template = "analytics/_explore_result.html" if getattr(request, "htmx", False) else self.template_name
        return self.render_to_response(self.get_context_data(**context), template_name=template)

    def render_to_response(
        self, context: dict[str, Any], template_name: str | None = None, **kwargs: Any
    ) -> HttpResponse:
        from django.template.response import TemplateResponse

        return TemplateResponse(self.request, template_name or self.template_name, context)


class ExploreSaveView(AnalyticsMixin, TemplateView):
    """Saves the exploration shown to a custom dashboard of the app (validated like the API)."""

    read_permission = write_permission = Perm.MANAGE_ANALYTICS

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return HttpResponseRedirect(reverse("analytics:explore", kwargs=kwargs))

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        from analytics.api.serializers import SavedAnalysisSerializer
        from analytics.metadata import Catalog

        app = self.get_app()
        try:
            spec = json.loads(request.POST.get("spec", ""))
        except ValueError:
            spec = None
        serializer = SavedAnalysisSerializer(
            data={"dashboard": request.POST.get("dashboard"), "title": request.POST.get("title"), "spec": spec},
            context={"scope": {"organization": self.organization}, "app": app, "catalog": Catalog.for_app(app),
                     "today": _today(app)},
        )  # fmt: skip
        if not serializer.is_valid():
            messages.error(request, "Not saved: " + "; ".join(_flatten(serializer.errors)))
            return redirect(request, reverse("analytics:explore", kwargs=kwargs))
        saved = serializer.save(organization=self.organization, created_by=current_user(request))
        messages.success(request, f"Saved “{saved.title}” to {saved.dashboard.name}.")
        return redirect(request, saved.dashboard.get_absolute_url())


class CustomDashboardListView(AnalyticsMixin, TemplateView):
    template_name = "analytics/dashboard_list.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        boards = CustomDashboard.objects.for_organization(self.organization).filter(app=self.get_app())
        context.update(active="dashboards", dashboards=boards.prefetch_related("analyses"),
                       form=kwargs.get("form") or CustomDashboardForm())  # fmt: skip
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not self.membership.has_perm(Perm.MANAGE_ANALYTICS):
            raise PermissionDenied("Only analysts create dashboards.")
        board = CustomDashboard(
            organization=self.organization, app=self.get_app(), created_by=current_user(request)
        )
        form = CustomDashboardForm(request.POST, instance=board)
        if form.is_valid():
            form.save()
            messages.success(request, f"Created dashboard {board.name}.")
            return redirect(request, board.get_absolute_url())
        return self.render_to_response(self.get_context_data(form=form))


class CustomDashboardDetailView(AnalyticsMixin, TemplateView):
    """A custom dashboard: each saved analysis is run again (from the cache when nothing new was loaded)."""

    template_name = "analytics/dashboard_detail.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        board = get_object_or_404(
            CustomDashboard.objects.for_organization(self.organization).filter(app=self.get_app()),
            uuid=kwargs["pk"],
        )
        panels = []
        for analysis in board.analyses.all():
            result, errors = explore_json(app=self.get_app(), body=analysis.spec)
            visual = None
            if result is not None:
                visual = {"dom_id": f"analysis-{analysis.uuid}", "chart": result["chart"]["kind"],
                          "data": result["chart"], "title": analysis.title}  # fmt: skip
            panels.append(
                {"analysis": analysis, "result": result, "errors": _flatten(errors), "visual": visual}
            )
        context.update(active="dashboards", board=board, panels=panels)
        return context


class CustomDashboardDeleteView(AnalyticsMixin, TemplateView):
    read_permission = write_permission = Perm.MANAGE_ANALYTICS
    template_name = "analytics/confirm_delete.html"

    def get_object(self) -> Any:
        return get_object_or_404(
            CustomDashboard.objects.for_organization(self.organization).filter(app=self.get_app()),
            uuid=self.kwargs["pk"],
        )

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return {**super().get_context_data(**kwargs), "object": self.get_object()}

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        obj = self.get_object()
        obj.delete()
        messages.success(request, f"Deleted {obj}.")
        return redirect(
            request,
            reverse("analytics:dashboard_list", kwargs={k: kwargs[k] for k in ("org", "project", "app")}),
        )


class SavedAnalysisDeleteView(CustomDashboardDeleteView):
    def get_object(self) -> Any:
        return get_object_or_404(
            SavedAnalysis.objects.for_organization(self.organization).filter(dashboard__app=self.get_app()),
            uuid=self.kwargs["pk"],
        )

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        obj = self.get_object()
        board = obj.dashboard
        obj.delete()
        messages.success(request, f"Removed {obj} from {board}.")
        return redirect(request, board.get_absolute_url())


class MetadataView(AnalyticsMixin, TemplateView):
    """The app's catalog: events, event parameters and user attributes, as the last scan found them."""

    template_name = "analytics/metadata.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        app = self.get_app()
        context.update(
            active="metadata",
            events=EventMetadata.objects.for_organization(self.organization).filter(app=app),
            attributes=AttributeMetadata.objects.for_organization(self.organization).filter(app=app),
        )
        return context


class MetadataEditView(AnalyticsMixin, TemplateView):
    """Edit the display name and description of an event or attribute (Analysts and Admins)."""

    read_permission = write_permission = Perm.MANAGE_ANALYTICS
    template_name = "analytics/metadata_edit.html"
    model: type[EventMetadata] | type[AttributeMetadata] = EventMetadata

    def get_object(self) -> Any:
        return get_object_or_404(
            self.model.objects.for_organization(self.organization).filter(app=self.get_app()),
            uuid=self.kwargs["pk"],
        )

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        obj = self.get_object()
        context.update(active="metadata", object=obj, form=kwargs.get("form") or MetadataForm(instance=obj))
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = MetadataForm(request.POST, instance=self.get_object())
        if form.is_valid():
            form.save()
            messages.success(request, f"Saved {form.instance.name}.")
            return redirect(
                request,
                reverse("analytics:metadata", kwargs={k: kwargs[k] for k in ("org", "project", "app")}),
            )
        return self.render_to_response(self.get_context_data(form=form))


class AttributeMetadataEditView(MetadataEditView):
    model = AttributeMetadata
