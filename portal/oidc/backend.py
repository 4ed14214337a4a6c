"""The sign-in backend: mozilla-django-oidc's authorization-code flow with our token checks and user mapping."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import SuspiciousOperation
from django.http import HttpRequest
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from portal.oidc import provider, services, tokens


class OIDCBackend(OIDCAuthenticationBackend):
    """Answers only the provider's callback (which passes the nonce); a password sign-in never reaches it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # No settings or network at construction: Django builds every backend for every sign-in.
        self.UserModel = get_user_model()

    def authenticate(self, request: HttpRequest | None, **kwargs: Any) -> Any:
        if request is None or "nonce" not in kwargs or not settings.OIDC_ENABLED:
            return None
        meta = provider.metadata()
        self.OIDC_OP_TOKEN_ENDPOINT = meta.token_endpoint
        self.OIDC_OP_USER_ENDPOINT = meta.userinfo_endpoint
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID
        self.OIDC_RP_CLIENT_SECRET = settings.OIDC_RP_CLIENT_SECRET
        return super().authenticate(request, **kwargs)

    def verify_token(self, token: str, **kwargs: Any) -> dict[str, Any]:
        try:
            return tokens.verify_id_token(token or "", nonce=kwargs.get("nonce") or "")
        except tokens.TokenError as exc:
            raise SuspiciousOperation(f"ID token refused: {exc.reason}") from None

    def get_userinfo(self, access_token: str, id_token: str, payload: dict[str, Any]) -> dict[str, Any]:
        """The ID token's claims, completed by the userinfo endpoint when it speaks for the same subject."""
        claims = dict(payload)
        if self.OIDC_OP_USER_ENDPOINT and settings.OIDC_USE_USERINFO and access_token:
            info = super().get_userinfo(access_token, id_token, payload)
            if isinstance(info, dict) and info.get("sub") == payload.get("sub"):
                claims.update(info)
        return claims

    def get_or_create_user(self, access_token: str, id_token: str, payload: dict[str, Any]) -> Any:
        claims = self.get_userinfo(access_token, id_token, payload)
        user, linked_password_account = services.sso_sign_in(claims=claims)
        self.request.oidc_sign_in = {  # type: ignore[attr-defined]
            "id_token": id_token,
            "groups": services.claim_groups(claims) or [],
            "linked_password_account": linked_password_account,
        }
        return user

    def store_tokens(self, access_token: str, id_token: str) -> None:
        """Nothing goes into the session before the user is signed in (sign-in may change the session)."""
