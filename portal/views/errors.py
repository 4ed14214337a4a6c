"""The 403, 404 and 500 answers: pages in the portal's layout, or `{"detail": …}` under `/api/`.

The API's own views answer errors through DRF; these handlers cover what reaches Django's handlers
instead (an unknown `/api/` URL, an error outside a view), so a client of the API never gets HTML.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template import loader

API_PREFIX = "/api/"


def _wants_json(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX)


def _reason(exception: Exception | None, default: str) -> str:
    """The message a view raised with (`PermissionDenied("…")`), unless it is Django's own resolver detail."""
    first = exception.args[0] if exception is not None and exception.args else None
    return first if isinstance(first, str) and first else default


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    reason = _reason(exception, "You do not have permission to do this.")
    if _wants_json(request):
        return JsonResponse({"detail": reason}, status=403)
    # Only members are told "forbidden" (others get 404), so the organization's home is a safe way back.
    match = request.resolver_match
    org = match.kwargs.get("org") if match is not None else None
    return render(request, "errors/403.html", {"reason": reason, "org_slug": org}, status=403)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    # Http404 raised by the URL resolver carries a dict of patterns tried: never shown to a visitor.
    if _wants_json(request):
        return JsonResponse({"detail": _reason(exception, "Not found.")}, status=404)
    reason = _reason(exception, "There is no page at this address.")
    return render(request, "errors/404.html", {"reason": reason, "path": request.path}, status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    """Rendered without the request's context processors: they query the database, which may be what failed."""
    if _wants_json(request):
        return JsonResponse({"detail": "A server error occurred."}, status=500)
    return HttpResponse(loader.get_template("errors/500.html").render(), status=500)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse({"detail": "Bad request."}, status=400)
    return HttpResponse(loader.get_template("errors/400.html").render(), status=400)
