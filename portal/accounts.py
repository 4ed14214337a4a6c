"""Local accounts: who may sign up, what sign-up creates, and who may still sign in with a password.

Sign-up is open (CLICKSTREAM_SIGNUP=open: it creates the person's own organization) or by invitation only
(`invite`, the default in production). Through an invitation link it is always open, for the invited address
only, which it takes as verified (the link was sent there), and creates no organization: the person joins the
inviting one.

When single sign-on is the way in (CLICKSTREAM_LOCAL_SIGNIN=false), a password still works for superusers and
the addresses in CLICKSTREAM_BREAK_GLASS_EMAILS, so a provider outage never locks the administrators out.
Signing out of a provider-started session also ends the session at the provider.
"""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter, get_adapter
from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from portal import services
from portal.models import Invitation


def is_break_glass(user: Any) -> bool:
    return bool(user.is_superuser or (user.email or "").lower() in settings.BREAK_GLASS_EMAILS)


def local_sign_in_allowed(user: Any) -> bool:
    return settings.LOCAL_SIGNIN_ENABLED or is_break_glass(user)


SESSION_INVITATION = "invitation_key"


def invitation_remember(request: HttpRequest, invitation: Invitation) -> None:
    """An invitation link followed while signed out: kept for the sign-up or sign-in that comes next."""
    request.session[SESSION_INVITATION] = invitation.key
    get_adapter(request).stash_verified_email(request, invitation.email)


def invitation_forget(request: HttpRequest) -> None:
    request.session.pop(SESSION_INVITATION, None)


def invitation_pending(request: HttpRequest) -> Invitation | None:
    key = request.session.get(SESSION_INVITATION) if hasattr(request, "session") else None
    invitation = Invitation.objects.unscoped().filter(key=key).first() if key else None
    return invitation if invitation is not None and invitation.is_usable else None


class AccountAdapter(DefaultAccountAdapter):
    def save_user(self, request: HttpRequest, user: Any, form: Any, commit: bool = True) -> Any:
        user = super().save_user(request, user, form, commit=commit)
        if commit and invitation_pending(request) is None:
            name = f"{user.email.split('@')[0]}'s organization"
            services.organization_create(name=name, owner=user)
        return user

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        if not settings.LOCAL_SIGNIN_ENABLED:
            return False
        return settings.CLICKSTREAM_SIGNUP == "open" or invitation_pending(request) is not None

    def clean_email(self, email: str) -> str:
        email = super().clean_email(email)
        invitation = invitation_pending(self.request) if self.request is not None else None
        if invitation is not None and email.lower() != invitation.email:
            raise forms.ValidationError(
                f"Sign up with {invitation.email}, the address this invitation was sent to."
            )
        return email

    def get_signup_redirect_url(self, request: HttpRequest) -> str:
        invitation = invitation_pending(request)
        if invitation is not None:
            return reverse("invitation_accept", kwargs={"key": invitation.key})
        return super().get_signup_redirect_url(request)

    def pre_login(self, request: HttpRequest, user: Any, **kwargs: Any) -> HttpResponse | None:
        if not local_sign_in_allowed(user):
            from allauth.account.internal.stagekit import clear_login

            clear_login(request)
            messages.error(
                request,
                f"Sign in with {settings.OIDC_PROVIDER_NAME}: password sign-in is reserved for "
                "break-glass administrators.",
            )
            return redirect("account_login")
        return super().pre_login(request, user, **kwargs)

    def get_logout_redirect_url(self, request: HttpRequest) -> str:
        from portal.oidc.views import logout_url

        return logout_url(request) or super().get_logout_redirect_url(request)
