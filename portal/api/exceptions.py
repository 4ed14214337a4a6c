"""Errors as `{"detail": …}` or field errors, with the status a client can act on — never a 500 for bad input."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.db.models import ProtectedError, RestrictedError
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state of the object."
    default_code = "conflict"


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(serializers.as_serializer_error(exc))
    elif isinstance(exc, ProtectedError | RestrictedError):
        from portal.views.generic import protected_message

        obj = next(iter(exc.protected_objects if isinstance(exc, ProtectedError) else exc.restricted_objects))
        target = context["view"].get_object() if hasattr(context.get("view"), "get_object") else obj
        exc = Conflict(protected_message(target, exc))
    elif isinstance(exc, IntegrityError):
        exc = Conflict("Another request changed this at the same time (a duplicate?). Reload and try again.")
    return drf_exception_handler(exc, context)
