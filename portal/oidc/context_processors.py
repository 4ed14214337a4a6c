from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest


def single_sign_on(request: HttpRequest) -> dict[str, Any]:
    """What the sign-in pages offer: the provider's button, and whether passwords are for everyone."""
    return {
        "sso": {
            "enabled": settings.OIDC_ENABLED,
            "provider_name": settings.OIDC_PROVIDER_NAME,
            "local_enabled": settings.LOCAL_SIGNIN_ENABLED,
        }
    }
