"""Pages about this installation rather than an organization: the health of each part."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from portal.health import health_report


@login_required
def health_page(request: HttpRequest) -> HttpResponse:
    """Every signed-in person sees each part's state; staff also see the details an operator needs. Polled
    with htmx, so a part coming back shows without a reload."""
    report = health_report(staff=request.user.is_staff)
    template = "portal/_health.html" if request.headers.get("HX-Request") else "portal/health.html"
    return render(request, template, {"report": report})
