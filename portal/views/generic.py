"""Generic list, detail, edit and delete views. An app's views configure these in a few lines each."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import models, transaction
from django.db.models import ProtectedError, RestrictedError
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.utils.text import capfirst
from django.views.generic import TemplateView
from django.views.generic.edit import FormView

from portal import registry
from portal.tables import Table
from portal.views.base import OrganizationMixin

PAGE_SIZES = (25, 50, 100)
M = TypeVar("M", bound=models.Model)


def redirect(request: HttpRequest, url: str) -> HttpResponse:
    """A write answered over htmx redirects through the HX-Redirect header; a plain form post gets a 302."""
    if getattr(request, "htmx", False):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return HttpResponseRedirect(url)


class ObjectMixin(OrganizationMixin, Generic[M]):
    """Finds objects of `model` within the organization (and the parent, for nested URLs); `lookup_field` is
    the public id in the URL."""

    abstract = True
    model: type[M]
    lookup_field = "uuid"
    lookup_url_kwarg = "pk"
    kwargs: dict[str, Any]

    def get_queryset(self) -> models.QuerySet:
        return self.scope_queryset(self.model.objects.for_organization(self.organization))  # type: ignore[attr-defined]

    def get_object(self) -> M:
        return get_object_or_404(
            self.get_queryset(), **{self.lookup_field: self.kwargs[self.lookup_url_kwarg]}
        )

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["model_name"] = self.model._meta.verbose_name
        context["model_name_plural"] = self.model._meta.verbose_name_plural
        return context


class ObjectListView(ObjectMixin[M], TemplateView):
    """Filterable (django-filter), sortable (`?sort=`) and paginated (`?page=`, `?per_page=`) list."""

    abstract = True
    table: type[Table]
    filterset_class: Any = None
    template_name = "generic/object_list.html"
    create_url_name: str | None = None

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        queryset = self.get_queryset()
        filterset = None
        if self.filterset_class is not None:
            filterset = self.filterset_class(self.request.GET, queryset=queryset, request=self.request)
            # A filter that does not parse shows its error and no rows, as the API answers 400: never the
            # whole list as if it had been applied.
            queryset = filterset.qs if filterset.is_valid() else queryset.none()
        sort, ordering = self.table.sort_key(self.request.GET.get("sort"))
        per_page = self.request.GET.get("per_page", "")
        page = Paginator(
            queryset.order_by(ordering, "pk"), int(per_page) if per_page in map(str, PAGE_SIZES) else 25
        ).get_page(self.request.GET.get("page"))
        query = self.request.GET.copy()
        query.pop("page", None)
        query.pop("fragment", None)  # htmx asks for the table alone; links lead to whole pages
        sort_query = query.copy()
        sort_query.pop("sort", None)
        context.update(
            table=self.table(page.object_list, sort),
            page=page,
            filterset=filterset,
            filtered=filterset is not None and any(self.request.GET.get(name) for name in filterset.filters),
            query=query.urlencode(),
            query_without_sort=sort_query.urlencode(),
            can_create=self.can_create(),
        )
        return context

    def can_create(self) -> bool:
        """Show "Add" to members holding the write permission the model's views declare."""
        return bool(self.write_permission) and self.membership.has_perm(self.write_permission or "")

    def get_template_names(self) -> list[str]:
        if getattr(self.request, "htmx", False) and self.request.GET.get("fragment") == "table":
            return ["generic/_table.html"]
        return [self.template_name]


class ObjectDetailView(ObjectMixin[M], TemplateView):
    abstract = True
    template_name = "generic/object_detail.html"
    object: M

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["object"] = self.object
        context["panels"] = registry.panels(request=self.request, membership=self.membership, obj=self.object)
        return context

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.object = self.get_object()
        return super().get(request, *args, **kwargs)


class ObjectEditView(ObjectMixin[M], FormView):
    """Create (no id in the URL) or edit an object; the view sets organization and parent before validating.

    `save_object(form)` is where the object is written: override it to save through a service function (a
    `ValidationError` it raises is shown on the form and nothing is kept).
    """

    abstract = True
    form_class: type[ModelForm]
    template_name = "generic/object_edit.html"

    object: M

    def setup_object(self) -> M:
        if self.lookup_url_kwarg in self.kwargs:
            return self.get_object()
        return self.model(**self.get_scope())

    def save_object(self, form: ModelForm) -> M:
        return form.save()  # type: ignore[no-any-return]

    def get_form_kwargs(self) -> dict[str, Any]:
        self.object = self.setup_object()
        return {**super().get_form_kwargs(), "instance": self.object}

    def form_valid(self, form: ModelForm) -> HttpResponse:
        created = form.instance._state.adding
        try:
            with transaction.atomic():
                obj = self.save_object(form)
        except ValidationError as exc:
            form.add_error(None, exc)
            return self.form_invalid(form)
        messages.success(
            self.request, f"{'Created' if created else 'Updated'} {obj._meta.verbose_name} {obj}."
        )
        return redirect(self.request, self.get_success_url_for(obj))

    def get_success_url_for(self, obj: M) -> str:
        return obj.get_absolute_url()  # type: ignore[attr-defined]

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["object"] = self.object
        context["creating"] = self.object._state.adding
        return context


class ObjectDeleteView(ObjectMixin[M], TemplateView):
    """Confirm, then delete. Objects still in use (a protected relation) are refused with what blocks them."""

    abstract = True
    template_name = "generic/object_delete.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["object"] = self.get_object()
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        obj = self.get_object()
        try:
            with transaction.atomic():
                obj.delete()
        except (ProtectedError, RestrictedError) as exc:
            messages.error(request, protected_message(obj, exc))
            return redirect(request, obj.get_absolute_url())  # type: ignore[attr-defined]
        messages.success(request, f"Deleted {obj._meta.verbose_name} {obj}.")
        return redirect(request, self.get_success_url())

    def get_success_url(self) -> str:
        raise NotImplementedError


def protected_message(obj: models.Model, exc: ProtectedError | RestrictedError) -> str:
    blocking = exc.protected_objects if isinstance(exc, ProtectedError) else exc.restricted_objects
    blockers = sorted({f"{o._meta.verbose_name} {o}" for o in blocking})
    return (
        f"{capfirst(obj._meta.verbose_name)} {obj} cannot be deleted while it has "
        f"{', '.join(blockers)}. Delete the {blockers[0].split(' ')[0]} first."
    )
