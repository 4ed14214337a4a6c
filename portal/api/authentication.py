"""`Authorization: Bearer <token>`: a personal API token (`cst_…`), or an access token from the identity provider.

Personal tokens are looked up by their hash. A provider token (a JWT) is checked against the provider's keys,
issuer, audience and expiry, and maps to the same user and roles as a sign-in. A refused token is a 401 whose
WWW-Authenticate header says what was wrong with it (RFC 6750 §3) and whose body says nothing more.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from portal.models import ApiToken
from portal.models.tokens import TOKEN_PREFIX, hash_token

LAST_USED_RESOLUTION = timedelta(minutes=1)
INVALID = "Invalid token."


class ProviderUnavailable(exceptions.APIException):
    status_code = 503
    default_detail = "The identity provider cannot be reached to check the token; try again shortly."
    default_code = "provider_unavailable"


@dataclass(frozen=True)
class ProviderToken:
    """`request.auth` for a provider access token: its verified claims."""

    claims: dict[str, Any] = field(default_factory=dict)


class BearerTokenAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != b"bearer":
            return None
        if len(parts) != 2:
            raise self.refuse(request, "Malformed Authorization header: send 'Bearer <token>'.")
        raw = parts[1].decode("ascii", errors="replace")
        if raw.startswith(TOKEN_PREFIX):
            return self.personal_token(raw)
        if settings.OIDC_ENABLED and raw.count(".") == 2:
            return self.provider_token(request, raw)
        raise self.refuse(request, "The token is not recognised.")

    def personal_token(self, raw: str) -> tuple[Any, ApiToken]:
        token = (
            ApiToken.objects.unscoped()
            .select_related("user", "organization")
            .filter(digest=hash_token(raw))
            .first()
        )
        if token is None or not token.user.is_active:
            raise AuthenticationFailed(INVALID)
        if token.is_expired:
            raise AuthenticationFailed("This token has expired; create a new one.")
        now = timezone.now()
        if token.last_used is None or now - token.last_used > LAST_USED_RESOLUTION:
            ApiToken.objects.unscoped().filter(pk=token.pk).update(last_used=now)
        return token.user, token

    def provider_token(self, request: Request, raw: str) -> tuple[Any, ProviderToken]:
        from portal.oidc import provider, services, tokens

        try:
            claims = tokens.verify_access_token(raw)
        except tokens.TokenError as exc:
            raise self.refuse(request, exc.reason) from None
        except provider.ProviderUnavailable:
            raise ProviderUnavailable() from None
        try:
            user, _ = services.sso_sign_in(claims=claims, absent_claim_means_no_groups=False)
        except services.SignInRefused:
            raise self.refuse(
                request, "The token's subject has no account here; sign in to the portal once."
            ) from None
        return user, ProviderToken(claims=claims)

    @staticmethod
    def refuse(request: Request, reason: str) -> AuthenticationFailed:
        request.bearer_error = reason  # type: ignore[attr-defined]
        return AuthenticationFailed(INVALID)

    def authenticate_header(self, request: Request) -> str:
        reason = getattr(request, "bearer_error", None)
        if reason is None:
            return 'Bearer realm="api"'
        return f'Bearer realm="api", error="invalid_token", error_description="{reason.replace(chr(34), chr(39))}"'
