"""The OpenAPI schema's shared parts: bearer-token authentication, the nested path parameters, and the error
answers every operation can give, so clients (and schemathesis) know them without each view repeating them."""

from __future__ import annotations

from typing import Any

from drf_spectacular import openapi
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import ResolvedComponent, build_parameter_type
from drf_spectacular.utils import OpenApiParameter
from rest_framework.permissions import AllowAny


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


ERROR = {
    "type": "object",
    "properties": {"detail": {"type": "string", "description": "What went wrong, for a person to read."}},
    "required": ["detail"],
}
FIELD_ERRORS = {
    "type": "object",
    "description": "Each field that was refused, with its messages (an object of them for a nested field or "
    "a list's items); `non_field_errors` for the object as a whole; `detail` alone when the body could not be "
    "parsed at all.",
    "properties": {
        "detail": {"type": "string"},
        "non_field_errors": {"type": "array", "items": {"type": "string"}},
    },
    "additionalProperties": {"anyOf": [{"type": "array", "items": {}}, {"type": "object"}]},
}
WRITES = {"POST", "PUT", "PATCH", "DELETE"}


class AutoSchema(openapi.AutoSchema):
    """Describes the path parameters every nested route shares (they are not fields of the model), and the
    error answers (400, 401, 403, 404, 409) of every operation, in the shape `portal.api.exceptions` gives."""

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

    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        responses = operation["responses"]
        for code, (schema, description) in self.error_responses(operation).items():
            # An operation may declare an error itself (its description says when): it gets the shape too.
            response = responses.setdefault(code, {"description": description})
            response.setdefault("content", {"application/json": {"schema": schema}})
        return operation

    def error_responses(self, operation: dict[str, Any]) -> dict[str, tuple[dict[str, str], str]]:
        """Which errors this operation can answer: 400 where there is input to refuse, 401 and 403 always,
        404 where the path names an object, 409 for writes and for a read that declares one."""
        where = {parameter["in"] for parameter in operation.get("parameters", [])}
        error = self.error_component("Error", ERROR)
        errors: dict[str, tuple[dict[str, str], str]] = {}
        if "requestBody" in operation or "query" in where:
            errors["400"] = (
                self.error_component("FieldErrors", FIELD_ERRORS),
                "The request is invalid; the answer says which field and why.",
            )
        if not self.is_open():
            errors["401"] = (
                error,
                "No credentials, or credentials that are not valid (unknown, expired or revoked).",
            )
            errors["403"] = (
                error,
                "Your roles in the organization do not allow this, or the token is read-only.",
            )
        if "path" in where:
            errors["404"] = (error, "No such object, or an organization you are not a member of.")
        if self.method in WRITES or "409" in operation["responses"]:
            errors["409"] = (
                error,
                "The change conflicts with the current state (a duplicate made at the same "
                "moment, an object still in use); the answer says which.",
            )
        return errors

    def is_open(self) -> bool:
        """An endpoint anyone may call (the health report) refuses no one."""
        return all(isinstance(p, AllowAny) for p in self.view.get_permissions())

    def error_component(self, name: str, schema: dict[str, Any]) -> dict[str, str]:
        component = ResolvedComponent(name=name, type=ResolvedComponent.SCHEMA, object=name, schema=schema)
        self.registry.register_on_missing(component)
        return component.ref
