"""Sign-in settings of an organization: which identity-provider groups give which roles, and required 2FA."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from portal import security, tables
from portal.forms import OrganizationOwnedForm
from portal.models import GroupMapping, Organization
from portal.roles import Perm, Role
from portal.views import generic
from portal.views.base import OrganizationAccess


class GroupMappingTable(tables.Table):
    columns = (
        tables.Column("group", "Group", order_by="group", link=True),
        tables.Column("roles", "Roles", value=lambda m: ", ".join(Role(r).label for r in m.roles)),
        tables.Column(
            "approved",
            "Applies",
            order_by="approved",
            value=lambda m: "yes" if m.approved else "awaiting approval by support staff",
        ),
        tables.Column("updated", "Changed", order_by="updated"),
    )
    default_sort = "group"


class RequireMFAForm(OrganizationOwnedForm):
    """Only an admin who has two-factor set up may require it, so requiring it never locks out its admins."""

    class Meta:
        model = Organization
        fields = ["require_mfa"]

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_require_mfa(self) -> bool:
        required = self.cleaned_data["require_mfa"]
        if required and not self.instance.require_mfa and not security.has_mfa(self.user):
            raise forms.ValidationError(
                "Set up two-factor authentication for yourself first (see below), so that requiring it "
                "cannot lock you out."
            )
        return required


class GroupMappingForm(OrganizationOwnedForm):
    roles = forms.MultipleChoiceField(choices=Role.choices, widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = GroupMapping
        fields = ["group", "roles"]

    def clean_roles(self) -> list[str]:
        return [r for r in Role.values if r in self.cleaned_data["roles"]]

    def save(self, commit: bool = True) -> GroupMapping:
        if "group" in self.changed_data:
            self.instance.approved = False  # another group: staff approve it afresh
        return super().save(commit=commit)


class GroupMappingMixin(OrganizationAccess):
    model: type[models.Model] = GroupMapping
    read_permission = write_permission = Perm.MANAGE_ORGANIZATION

    def get_success_url(self) -> str:
        return reverse("groupmapping_list", kwargs={"org": self.organization.slug})

    def get_success_url_for(self, obj: Any) -> str:
        return self.get_success_url()


class SignInSettingsView(GroupMappingMixin, generic.ObjectListView):
    """The group mappings, and the switch that makes two-factor authentication required for password sign-ins."""

    table = GroupMappingTable
    template_name = "oidc/sign_in_settings.html"
    create_url_name = "groupmapping_add"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        user = self.request.user
        context.update(
            mfa_form=kwargs.get("mfa_form") or RequireMFAForm(instance=self.organization, user=user),
            has_mfa=security.has_mfa(user),
            has_unverified_email=security.has_unverified_email(user),
            roles_claim=settings.OIDC_ROLES_CLAIM,
            sso_enabled=settings.OIDC_ENABLED,
            provider_name=settings.OIDC_PROVIDER_NAME,
        )
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = RequireMFAForm(request.POST, instance=self.organization, user=request.user)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(mfa_form=form))
        form.save()
        state = "now requires" if form.instance.require_mfa else "no longer requires"
        messages.success(request, f"{self.organization.name} {state} two-factor authentication.")
        return generic.redirect(request, self.get_success_url())


class GroupMappingEditView(GroupMappingMixin, generic.ObjectEditView):
    form_class = GroupMappingForm


class GroupMappingDeleteView(GroupMappingMixin, generic.ObjectDeleteView):
    pass


@login_required
def no_access(request: HttpRequest) -> HttpResponse:
    """Signed in through the provider, but no group of yours is mapped to an organization here."""
    return render(
        request,
        "oidc/no_access.html",
        {
            "groups": request.session.get("oidc_groups", []),
            "roles_claim": settings.OIDC_ROLES_CLAIM,
            "provider_name": settings.OIDC_PROVIDER_NAME,
            "support_contact": settings.CLICKSTREAM_SUPPORT_CONTACT,
        },
    )
