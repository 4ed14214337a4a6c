from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest


def single_sign_on(request: HttpRequest) -> dict[str, Any]:
    """What the sign-in pages offer: the provider's button, whether passwords are for everyone, and whether
    this visitor may sign up (open sign-up, or an invitation link followed)."""
    from allauth.account.adapter import get_adapter

    return {
        "sso": {
            "enabled": settings.OIDC_ENABLED,
            "provider_name": settings.OIDC_PROVIDER_NAME,
            "local_enabled": settings.LOCAL_SIGNIN_ENABLED,
            "signup_open": get_adapter(request).is_open_for_signup(request),
        }
    }
