"""Local accounts: sign-up creates the user's own organization; local sign-in may be kept for break-glass admins.

When single sign-on is the way in (CLICKSTREAM_LOCAL_SIGNIN=false), a password still works for superusers and
the addresses in CLICKSTREAM_BREAK_GLASS_EMAILS, so a provider outage never locks the administrators out.
Signing out of a provider-started session also ends the session at the provider.
"""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from portal import services


def is_break_glass(user: Any) -> bool:
    return bool(user.is_superuser or (user.email or "").lower() in settings.BREAK_GLASS_EMAILS)


def local_sign_in_allowed(user: Any) -> bool:
    return settings.LOCAL_SIGNIN_ENABLED or is_break_glass(user)


class AccountAdapter(DefaultAccountAdapter):
    def save_user(self, request: HttpRequest, user: Any, form: Any, commit: bool = True) -> Any:
        user = super().save_user(request, user, form, commit=commit)
        if commit:
            name = f"{user.email.split('@')[0]}'s organization"
            services.organization_create(name=name, owner=user)
        return user

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return settings.LOCAL_SIGNIN_ENABLED

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
