"""OpenAPI description of our authentication, so the schema (and tools reading it) know about bearer tokens."""

from __future__ import annotations

from typing import Any

from drf_spectacular import openapi
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_parameter_type
from drf_spectacular.utils import OpenApiParameter


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "portal.api.authentication.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal API token (created under API tokens in the portal, or by "
            "`manage.py createuser --token`), or an access token (JWT) from the identity provider the portal "
            "signs in with, for the API's audience (OIDC_API_AUDIENCES); ID tokens are refused.",
        }


class AutoSchema(openapi.AutoSchema):
    """Describes the path parameters every nested route shares (they are not fields of the model)."""

    SHARED_PATH_PARAMETERS = {
        "org": "The organization's slug.",
        "project": "The project id (`project_id`).",
        "app": "The app id (`app_id`).",
    }

    def _resolve_path_parameters(self, variables: list[str]) -> list[dict[str, Any]]:
        shared = [v for v in variables if v in self.SHARED_PATH_PARAMETERS]
        own = super()._resolve_path_parameters([v for v in variables if v not in shared])
        described = [
            build_parameter_type(
                name=v,
                schema={"type": "string"},
                location=OpenApiParameter.PATH,
                description=self.SHARED_PATH_PARAMETERS[v],
            )
            for v in shared
        ]
        return described + own
