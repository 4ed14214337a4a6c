"""Sign-in through the provider: start (redirect with state, nonce and PKCE), callback, and the way out.

Every failure ends on a page that says what happened and offers the local sign-in (for break-glass admins),
never on a stack trace: a provider that is down, a state or nonce that does not match (a forged or replayed
response), a refused token, an account we must not let in.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlencode

import requests
from allauth.usersessions.models import UserSession
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import SuspiciousOperation
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views import View
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from portal.accounts import invitation_pending
from portal.oidc import provider
from portal.oidc.services import SignInRefused

log = logging.getLogger(__name__)

SESSION_METHOD = "sign_in_method"
SESSION_ID_TOKEN = "oidc_id_token"
SESSION_GROUPS = "oidc_groups"


def signed_in_through_provider(request: HttpRequest) -> bool:
    return request.session.get(SESSION_METHOD) == "oidc"


def sign_in_error(request: HttpRequest, message: str, *, status: int) -> HttpResponse:
    return render(
        request,
        "oidc/sign_in_error.html",
        {"message": message, "provider_name": settings.OIDC_PROVIDER_NAME},
        status=status,
    )


def provider_down(request: HttpRequest) -> HttpResponse:
    return sign_in_error(
        request,
        f"{settings.OIDC_PROVIDER_NAME} cannot be reached right now, so single sign-on is unavailable. "
        "Try again in a few minutes.",
        status=502,
    )


def not_configured(request: HttpRequest) -> HttpResponse:
    messages.info(request, "Single sign-on is not configured here; sign in with your email and password.")
    return redirect("account_login")


class AuthenticateView(OIDCAuthenticationRequestView):
    """Send the browser to the provider's authorization endpoint (code flow, state, nonce, PKCE S256)."""

    def __init__(self, **kwargs: Any) -> None:
        View.__init__(self, **kwargs)  # the endpoints come from discovery, at request time

    def get(self, request: HttpRequest) -> HttpResponse:
        if not settings.OIDC_ENABLED:
            return not_configured(request)
        try:
            meta = provider.metadata()
        except provider.ProviderUnavailable as exc:
            log.warning("Identity provider unavailable: %s", exc)
            return provider_down(request)
        self.OIDC_OP_AUTH_ENDPOINT = meta.authorization_endpoint
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID
        return super().get(request)


class CallbackView(OIDCAuthenticationCallbackView):
    """The provider's redirect back: checks state, exchanges the code, verifies the ID token, signs in."""

    def get(self, request: HttpRequest) -> HttpResponse:
        if not settings.OIDC_ENABLED:
            return not_configured(request)
        try:
            return super().get(request)
        except SuspiciousOperation as exc:
            log.warning("Refused a sign-in response: %s", exc)
            return sign_in_error(
                request,
                "The sign-in response did not match a sign-in started here (it may have been used "
                "already or tampered with). Start again.",
                status=400,
            )
        except SignInRefused as exc:
            return sign_in_error(request, str(exc), status=403)
        except (provider.ProviderUnavailable, requests.RequestException) as exc:
            log.warning("Identity provider failed during sign-in: %s", exc)
            return provider_down(request)

    def login_failure(self) -> HttpResponse:
        request = self.request
        if "error" in request.GET:
            reason = request.GET.get("error_description") or request.GET["error"]
            return sign_in_error(
                request, f"{settings.OIDC_PROVIDER_NAME} refused the sign-in: {reason}", status=400
            )
        if "code" in request.GET:
            return sign_in_error(request, "The sign-in could not be completed. Start again.", status=400)
        return redirect("account_login")

    def login_success(self) -> HttpResponse:
        response = super().login_success()
        details = getattr(self.request, "oidc_sign_in", {})
        self.request.session[SESSION_METHOD] = "oidc"
        self.request.session[SESSION_ID_TOKEN] = details.get("id_token", "")
        self.request.session[SESSION_GROUPS] = details.get("groups", [])
        UserSession.objects.create_from_request(self.request)  # listed, so a later link can end it too
        if details.get("linked_password_account"):
            messages.warning(
                self.request,
                f"Your {settings.OIDC_PROVIDER_NAME} account is now linked to the account {self.user.email}, "
                "which also has a password. Every other session of that account was signed out; if you did "
                "not set that password, change it or ask an administrator to remove it.",
            )
        if not self.user.memberships.exists() and invitation_pending(self.request) is None:
            return redirect("sso_no_access")  # (someone following an invitation link goes on to accept it)
        return response


def logout_url(request: HttpRequest) -> str | None:
    """Where to send a provider-signed-in browser so the provider's session ends too (RP-initiated logout)."""
    if not settings.OIDC_ENABLED or not signed_in_through_provider(request):
        return None
    back = request.build_absolute_uri(reverse("account_login"))
    if settings.OIDC_LOGOUT_STYLE == "cognito":
        query = {"client_id": settings.OIDC_RP_CLIENT_ID, "logout_uri": back}
        return f"{settings.OIDC_LOGOUT_URL}?{urlencode(query)}"
    endpoint = settings.OIDC_LOGOUT_URL
    if not endpoint:
        try:
            endpoint = provider.metadata().end_session_endpoint
        except provider.ProviderUnavailable:
            return None  # our session still ends; the provider's cannot be reached
    if not endpoint:
        return None
    query = {"client_id": settings.OIDC_RP_CLIENT_ID, "post_logout_redirect_uri": back}
    if request.session.get(SESSION_ID_TOKEN):
        query["id_token_hint"] = request.session[SESSION_ID_TOKEN]
    return f"{endpoint}?{urlencode(query)}"
