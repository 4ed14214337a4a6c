"""The portal's URLs plus two that fail on purpose, to see the 500 answers (used with `pytest.mark.urls`)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path

from portal.urls import *  # noqa: F403  (the handlers come along with the patterns)
from portal.urls import urlpatterns as portal_patterns


def boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a bug")


urlpatterns = [path("boom/", boom), path("api/v1/boom/", boom), *portal_patterns]
