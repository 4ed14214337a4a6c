"""Organization pages: home, switching, members, invitations, the audit log and API tokens."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.generic import TemplateView
from django.views.generic.edit import FormView

from portal import accounts, filtersets, registry, services, tables
from portal.forms import Form, OrganizationOwnedForm
from portal.models import ApiToken, AuditLogEntry, Invitation, Membership, Organization
from portal.roles import ANY_MEMBER, Perm, Role
from portal.views import generic
from portal.views.base import (
    OrganizationAccess,
    OrganizationMixin,
    current_user,
    membership_for,
    user_memberships,
)


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Send a signed-in person to the organization they used last (or their first one)."""
    memberships = user_memberships(request)
    preferred = membership_for(request, request.session.get("organization", ""))
    membership = preferred or next(iter(memberships), None)
    if membership is None:
        return render(request, "portal/no_organization.html", status=200)
    return redirect("org_home", org=membership.organization.slug)


class OrganizationHomeView(OrganizationMixin, TemplateView):
    """The cards domain apps registered (portal/registry.py), those the member's roles allow."""

    read_permission = ANY_MEMBER
    template_name = "portal/org_home.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["cards"] = registry.home_cards(request=self.request, membership=self.membership)
        return context


class OrganizationForm(OrganizationOwnedForm):
    class Meta:
        model = Organization
        fields = ["name"]


class OrganizationCreateForm(Form):
    name = forms.CharField(max_length=100)


@login_required
def organization_create(request: HttpRequest) -> HttpResponse:
    form = OrganizationCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        organization = services.organization_create(name=form.cleaned_data["name"], owner=request.user)
        messages.success(request, f"Created organization {organization.name}.")
        return generic.redirect(request, reverse("org_home", kwargs={"org": organization.slug}))
    return render(request, "portal/organization_create.html", {"form": form})


class OrganizationEditView(OrganizationMixin, FormView):
    read_permission = write_permission = Perm.MANAGE_ORGANIZATION
    form_class = OrganizationForm
    template_name = "generic/object_edit.html"

    def get_form_kwargs(self) -> dict[str, Any]:
        return {**super().get_form_kwargs(), "instance": self.organization}

    def form_valid(self, form: OrganizationForm) -> HttpResponse:
        form.save()
        messages.success(self.request, "Saved the organization's settings.")
        return generic.redirect(self.request, reverse("org_home", kwargs={"org": self.organization.slug}))

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return {
            **super().get_context_data(**kwargs),
            "object": self.organization,
            "model_name": "organization",
        }


class MemberMixin(OrganizationAccess):
    model: type[Model] = Membership
    read_permission = write_permission = Perm.MANAGE_ORGANIZATION
    organization: Organization

    def get_queryset(self) -> QuerySet:
        return self.organization.memberships.select_related("user")


class MemberListView(MemberMixin, generic.ObjectListView):
    table = tables.MemberTable
    filterset_class = filtersets.MemberFilterSet
    template_name = "portal/member_list.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        pending = Invitation.objects.for_organization(self.organization).filter(accepted_at=None)
        context["invitations"] = pending.select_related("invited_by").order_by("-created")
        return context


class MemberForm(OrganizationOwnedForm):
    roles = forms.MultipleChoiceField(choices=Role.choices, widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = Membership
        fields = ["roles"]

    def clean_roles(self) -> list[str]:
        roles = [r for r in Role.values if r in self.cleaned_data["roles"]]
        services.last_admin_guard(membership=self.instance, new_roles=roles)
        return roles


class MemberEditView(MemberMixin, generic.ObjectEditView):
    form_class = MemberForm

    def get_success_url_for(self, obj: Any) -> str:
        return reverse("members", kwargs={"org": self.organization.slug})


class MemberDeleteView(MemberMixin, generic.ObjectDeleteView):
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            services.last_admin_guard(membership=self.get_object(), new_roles=None)
        except ValidationError as exc:
            messages.error(request, exc.messages[0])
            return generic.redirect(request, self.get_success_url())
        return super().post(request, *args, **kwargs)

    def get_success_url(self) -> str:
        return reverse("members", kwargs={"org": self.organization.slug})


class InvitationForm(OrganizationOwnedForm):
    roles = forms.MultipleChoiceField(choices=Role.choices, widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = Invitation
        fields = ["email", "roles"]


class InvitationCreateView(OrganizationMixin, FormView):
    read_permission = write_permission = Perm.MANAGE_ORGANIZATION
    form_class = InvitationForm
    template_name = "generic/object_edit.html"

    def get_form_kwargs(self) -> dict[str, Any]:
        return {**super().get_form_kwargs(), "instance": Invitation(organization=self.organization)}

    def form_valid(self, form: InvitationForm) -> HttpResponse:
        try:
            invitation = services.invitation_create(
                organization=self.organization,
                email=form.cleaned_data["email"],
                roles=[r for r in Role.values if r in form.cleaned_data["roles"]],
                invited_by=self.request.user,
                accept_url=lambda inv: invitation_link(self.request, inv),
            )
        except ValidationError as exc:
            form.add_error(None, exc)
            return self.form_invalid(form)
        messages.success(self.request, f"Sent an invitation to {invitation.email}.")
        return generic.redirect(self.request, reverse("members", kwargs={"org": self.organization.slug}))

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return {**super().get_context_data(**kwargs), "model_name": "invitation", "creating": True}


class InvitationMixin(OrganizationAccess):
    abstract = True
    model: type[Model] = Invitation
    read_permission: str | None = Perm.MANAGE_ORGANIZATION
    write_permission: str | None = Perm.MANAGE_ORGANIZATION

    def get_queryset(self) -> QuerySet:
        return Invitation.objects.for_organization(self.organization).filter(accepted_at=None)

    def get_success_url(self) -> str:
        return reverse("members", kwargs={"org": self.organization.slug})


class InvitationDeleteView(InvitationMixin, generic.ObjectDeleteView):
    """Revoke an open invitation: its link stops working."""


class InvitationResendView(InvitationMixin, generic.ObjectMixin, TemplateView):
    """Send an open invitation again, with a fresh link valid for another week (GET asks to confirm)."""

    template_name = "portal/invitation_resend.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return {**super().get_context_data(**kwargs), "object": self.get_object()}

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        invitation = services.invitation_resend(
            invitation=self.get_object(),  # type: ignore[arg-type]
            accept_url=lambda inv: invitation_link(request, inv),
        )
        messages.success(request, f"Sent the invitation to {invitation.email} again, with a new link.")
        return generic.redirect(request, self.get_success_url())


def invitation_link(request: HttpRequest, invitation: Invitation) -> str:
    return request.build_absolute_uri(reverse("invitation_accept", kwargs={"key": invitation.key}))


def invitation_accept(request: HttpRequest, key: str) -> HttpResponse:
    """The invitee's link. Signed out, it is remembered for the sign-in or sign-up that follows (sign-up through
    it is open even when sign-up is invitation-only, creates no organization of its own, and takes the address
    as verified: the link was sent to it). Signed in, it asks to accept."""
    invitation = get_object_or_404(Invitation.objects.unscoped().select_related("organization"), key=key)
    if not request.user.is_authenticated:
        if not invitation.is_usable:
            return render(request, "portal/invitation_accept.html", {"invitation": invitation})
        accounts.invitation_remember(request, invitation)
        messages.info(
            request,
            f"Sign in, or sign up with {invitation.email}, to join {invitation.organization.name}.",
        )
        return redirect_to_login(request.get_full_path())
    if request.method == "POST":
        try:
            services.invitation_accept(invitation=invitation, user=request.user)
        except ValidationError as exc:
            messages.error(request, exc.messages[0])
        else:
            accounts.invitation_forget(request)
            messages.success(request, f"Welcome to {invitation.organization.name}.")
            return redirect("org_home", org=invitation.organization.slug)
    return render(request, "portal/invitation_accept.html", {"invitation": invitation})


class AuditLogView(generic.ObjectListView):
    model = AuditLogEntry
    read_permission = Perm.MANAGE_ORGANIZATION
    table = tables.AuditLogTable
    filterset_class = filtersets.AuditLogFilterSet


class ApiTokenMixin(OrganizationAccess):
    """Any member manages their own tokens for the organization; nobody sees another person's."""

    model: type[Model] = ApiToken
    read_permission = write_permission = ANY_MEMBER
    organization: Organization
    request: HttpRequest

    def get_queryset(self) -> QuerySet:
        return ApiToken.objects.for_organization(self.organization).filter(user=self.request.user)


class ApiTokenListView(ApiTokenMixin, generic.ObjectListView):
    table = tables.ApiTokenTable
    template_name = "portal/token_list.html"


class ApiTokenForm(OrganizationOwnedForm):
    class Meta:
        model = ApiToken
        fields = ["name", "read_only", "expires"]
        widgets = {"expires": forms.DateTimeInput(attrs={"type": "datetime-local"})}


class ApiTokenCreateView(OrganizationMixin, FormView):
    read_permission = write_permission = ANY_MEMBER
    form_class = ApiTokenForm
    template_name = "generic/object_edit.html"

    def get_form_kwargs(self) -> dict[str, Any]:
        token = ApiToken(organization=self.organization, user=current_user(self.request))
        return {**super().get_form_kwargs(), "instance": token}

    def form_valid(self, form: ApiTokenForm) -> HttpResponse:
        try:
            token, raw = services.api_token_create(
                organization=self.organization,
                user=self.request.user,
                name=form.cleaned_data["name"],
                read_only=form.cleaned_data["read_only"],
                expires=form.cleaned_data["expires"],
            )
        except ValidationError as exc:
            form.add_error(None, exc)
            return self.form_invalid(form)
        return render(
            self.request,
            "portal/token_created.html",
            {"token": token, "secret": raw, "organization": self.organization},
        )

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return {**super().get_context_data(**kwargs), "model_name": "API token", "creating": True}


class ApiTokenDeleteView(ApiTokenMixin, generic.ObjectDeleteView):
    def get_success_url(self) -> str:
        return reverse("tokens", kwargs={"org": self.organization.slug})
