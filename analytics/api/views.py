"""The analytics API under `/api/v1/organizations/<org>/projects/<project>/analytics/apps/<app>/`.

Dashboards and metadata need VIEW_ANALYTICS; running explorations, saving them and editing metadata need
MANAGE_ANALYTICS (Analysts and Admins; Analyst Readers view).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Model, QuerySet
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from analytics.api import serializers as s
from analytics.dashboards import SHEETS, sheet_data
from analytics.forms import ScopeForm
from analytics.metadata import Catalog
from analytics.models import AttributeMetadata, CustomDashboard, EventMetadata, SavedAnalysis
from analytics.results import explore_run, result_csv
from analytics.warehouse import NoData, WarehouseError, warehouse_for
from portal.api.viewsets import OrganizationViewSet
from portal.roles import Perm
from projects.models import App, Project


class AppScopedMixin:
    """The project in the URL is the framework's parent (found within the organization, 404 otherwise,
    `OrganizationAccess`); the app is found within that project. Every object here belongs to an app, reached
    from the model by `app_field`: the framework's queryset scoping and the scope of new objects read it."""

    parent_model: type[Model] | None = Project
    parent_lookup = "project_id"
    app_field = "app"
    kwargs: dict[str, Any]
    organization: Any
    parent: Project

    def get_app(self) -> App:
        if not hasattr(self, "_app"):
            self._app = get_object_or_404(self.parent.apps.all(), app_id=self.kwargs["app"])
        return self._app

    def scope_queryset(self, queryset: QuerySet) -> QuerySet:
        return queryset.filter(**{self.app_field: self.get_app()})

    def get_scope(self) -> dict[str, Any]:
        return {"organization": self.organization, "app": self.get_app()}

    def today(self) -> Any:
        return datetime.now(ZoneInfo(self.get_app().timezone)).date()


def engine_error(exc: Exception) -> Response:
    """No data loaded yet is a state to wait out (409); an engine failure names the failing step (502)."""
    code = status.HTTP_409_CONFLICT if isinstance(exc, NoData) else status.HTTP_502_BAD_GATEWAY
    return Response({"detail": str(exc)}, status=code)


class ExploreViewSet(AppScopedMixin, OrganizationViewSet):
    """GET: what can be explored (the app's events and attributes). POST: run an exploration."""

    model = EventMetadata
    read_permission = Perm.VIEW_ANALYTICS
    write_permission = Perm.MANAGE_ANALYTICS
    serializer_class = s.ExploreSpecSerializer
    pagination_class = None

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()
        if hasattr(self, "organization"):
            context.update(catalog=Catalog.for_app(self.get_app()), today=self.today())
        return context

    @extend_schema(responses=s.EventMetadataSerializer(many=True))
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        events = EventMetadata.objects.for_organization(self.organization).filter(app=self.get_app())
        return Response(s.EventMetadataSerializer(events, many=True).data)

    @extend_schema(
        request=s.ExploreSpecSerializer, responses=s.ExploreResultSerializer,
        parameters=[OpenApiParameter("export", str, enum=["csv"], description="csv: the rows as a CSV file")],
    )  # fmt: skip
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:  # type: ignore[override]  # CSV export answers a plain HttpResponse
        spec_serializer = self.get_serializer(data=request.data)
        spec_serializer.is_valid(raise_exception=True)
        spec = spec_serializer.spec(app=self.get_app())  # type: ignore[attr-defined]  # an ExploreSpecSerializer
        try:
            result = explore_run(spec=spec, warehouse=warehouse_for(self.get_app().project))
        except (NoData, WarehouseError) as exc:
            return engine_error(exc)
        if request.query_params.get("export") == "csv":
            response = HttpResponse(result_csv(result), content_type="text/csv")
            response["Content-Disposition"] = f'attachment; filename="{spec.type}.csv"'
            return response  # type: ignore[return-value]  # a CSV download is a plain HttpResponse
        return Response(result)


class SheetViewSet(AppScopedMixin, OrganizationViewSet):
    """A built-in dashboard sheet's visuals as JSON; query parameters as on the dashboard page."""

    model = EventMetadata
    read_permission = Perm.VIEW_ANALYTICS
    write_permission = Perm.MANAGE_ANALYTICS
    lookup_url_kwarg = "sheet"
    serializer_class = s.SheetSerializer
    pagination_class = None

    @extend_schema(responses=s.SheetSerializer(many=True))
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response([{"slug": sheet.slug, "title": sheet.title} for sheet in SHEETS.values()])

    @extend_schema(
        parameters=[OpenApiParameter(n, str) for n in ("start", "end", "platform", "top_n", "user_dim",
                                                      "session_dim", "page_dim")],
        responses={200: dict},
    )  # fmt: skip
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        sheet = SHEETS.get(self.kwargs["sheet"])
        if sheet is None:
            return Response({"detail": f"No such sheet; choose from {', '.join(SHEETS)}."}, status=404)
        form = ScopeForm(request.query_params.dict(), today=self.today())
        if not form.is_valid():
            return Response(form.errors, status=status.HTTP_400_BAD_REQUEST)
        try:
            data = sheet_data(sheet=sheet, warehouse=warehouse_for(self.get_app().project),
                              scope=form.scope(app=self.get_app()), options=form.options())  # fmt: skip
        except NoData as exc:
            return Response({"sheet": sheet.slug, "title": sheet.title, "latest_event": None, "visuals": [],
                             "detail": str(exc)})  # fmt: skip
        except WarehouseError as exc:
            return engine_error(exc)
        return Response(data)


class CustomDashboardViewSet(AppScopedMixin, OrganizationViewSet):
    model = CustomDashboard
    serializer_class = s.CustomDashboardSerializer
    read_permission = Perm.VIEW_ANALYTICS
    write_permission = Perm.MANAGE_ANALYTICS
    lookup_field = "uuid"
    lookup_url_kwarg = "pk"

    def perform_create(self, serializer: Any) -> None:
        serializer.save(**self.get_scope(), created_by=self.request.user)


class SavedAnalysisViewSet(AppScopedMixin, OrganizationViewSet):
    """Explorations saved to custom dashboards. `spec` is the explore API's body, validated the same way."""

    model = SavedAnalysis
    serializer_class = s.SavedAnalysisSerializer
    read_permission = Perm.VIEW_ANALYTICS
    write_permission = Perm.MANAGE_ANALYTICS
    lookup_field = "uuid"
    lookup_url_kwarg = "pk"
    http_method_names = ["get", "post", "delete", "head", "options"]
    app_field = "dashboard__app"

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()
        if hasattr(self, "organization"):
            context.update(app=self.get_app(), catalog=Catalog.for_app(self.get_app()), today=self.today())
        return context

    def perform_create(self, serializer: Any) -> None:
        serializer.save(organization=self.organization, created_by=self.request.user)


class MetadataMixin(AppScopedMixin):
    read_permission: str | None = Perm.VIEW_ANALYTICS
    write_permission: str | None = Perm.MANAGE_ANALYTICS
    lookup_field = "uuid"
    lookup_url_kwarg: str | None = "pk"
    http_method_names: Sequence[str] = ["get", "patch", "put", "head", "options"]


class EventMetadataViewSet(MetadataMixin, OrganizationViewSet):
    """Events seen in the app; display name and description are editable."""

    model = EventMetadata
    serializer_class = s.EventMetadataSerializer


class AttributeMetadataViewSet(MetadataMixin, OrganizationViewSet):
    """Event parameters and user attributes seen in the app; display name and description are editable."""

    model = AttributeMetadata
    serializer_class = s.AttributeMetadataSerializer
