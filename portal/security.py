"""Two protections every response passes: a content security policy, and two-factor sign-in where required."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect

from portal.views.base import membership_for

# The portal's own pages load only our scripts, styles, fonts and images: no inline script or style.
POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],  # data: for the TOTP QR code
    "font-src": ["'self'"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "frame-ancestors": ["'none'"],
    "form-action": ["'self'"],
}
# Swagger UI (the API documentation page) builds its page with inline scripts and styles.
RELAXED_PATHS = ("/api/v1/docs/",)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def content_security_policy(path: str) -> str:
    policy = {k: list(v) for k, v in POLICY.items()}
    # Signing out posts a form that redirects to the provider's logout page; form-action covers redirects.
    for url in (settings.OIDC_ISSUER, settings.OIDC_LOGOUT_URL):
        if origin := _origin(url):
            policy["form-action"].append(origin)
    if path.startswith(RELAXED_PATHS):
        policy["script-src"].append("'unsafe-inline'")
        policy["style-src"].append("'unsafe-inline'")
    if settings.CSP_REPORT_URI:
        policy["report-uri"] = [settings.CSP_REPORT_URI]
    return "; ".join(f"{name} {' '.join(values)}" for name, values in policy.items())


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = content_security_policy(request.path)
        return response


class RequireMFAMiddleware:
    """Members who signed in with a password open an organization that requires 2FA only once they have it.

    Provider sign-ins are exempt (the provider enforces its own factors); API tokens are not sessions.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view: Any, args: Any, kwargs: dict[str, Any]
    ) -> HttpResponse | None:
        slug = kwargs.get("org")
        user = getattr(request, "user", None)
        if not slug or user is None or not user.is_authenticated:
            return None
        if request.session.get("sign_in_method") == "oidc":
            return None
        membership = membership_for(request, slug)  # the request's one membership look-up, shared
        requires = membership is not None and membership.organization.require_mfa
        if not requires or has_mfa(user):
            return None
        message = "This organization requires two-factor authentication: set up an authenticator app first."
        if request.path.startswith("/api/"):
            return JsonResponse({"detail": message}, status=403)
        if has_unverified_email(user):
            # allauth lets no one add a second factor while an address is unproven: verify it first.
            messages.warning(request, f"{message[:-1]}, after verifying your email address below.")
            return redirect("account_email")
        messages.warning(request, message)
        return redirect("mfa_activate_totp")


def has_mfa(user: Any) -> bool:
    from allauth.mfa.utils import is_mfa_enabled

    return is_mfa_enabled(user)


def has_unverified_email(user: Any) -> bool:
    """Whether allauth refuses to add an authenticator for `user` until they verify an address."""
    from allauth.account.models import EmailAddress

    return EmailAddress.objects.filter(user=user, verified=False).exists()
