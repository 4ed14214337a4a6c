"""Shared fixtures for the whole suite."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_DIR = Path(__file__).resolve().parent.parent
SHARED_DIR = REPO_DIR.parent / "shared"
FIXTURES_DIR = SHARED_DIR / "fixtures" / "anchor-etl"


@pytest.fixture(scope="session")
def anchor_fixtures() -> Path:
    """The original's ETL golden data, read in place from ../shared (never copied into the project)."""
    if not FIXTURES_DIR.is_dir():
        pytest.fail(f"The golden fixtures are missing: expected {FIXTURES_DIR}")
    return FIXTURES_DIR


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Debian's headless Chromium under Playwright, one for the whole run.

    Playwright's sync API keeps an event loop in this thread while it is open, so every browser test must
    share this one instance rather than start its own.
    """
    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        pytest.fail("Chromium is missing: `make test` installs Debian's chromium package.")
    # The ORM calls the tests make are synchronous and safe; tell Django not to refuse them under that loop.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


# The fixed cast (STYLE.md §11): in organization A, alice is admin, olivia operator, ann analyst and bob an
# analyst reader; carol is the admin of organization B and an outsider to A.
CAST = {
    "alice": ("a", ["admin"]),
    "olivia": ("a", ["operator"]),
    "ann": ("a", ["analyst"]),
    "bob": ("a", ["analyst_reader"]),
    "carol": ("b", ["admin"]),
}
PASSWORD = "correct-horse-battery-staple"


@pytest.fixture
def cast(db):  # type: ignore[no-untyped-def]
    """Two organizations, their people, and one project with one app in each."""
    from types import SimpleNamespace

    from portal import services
    from projects.models import App, Project

    people = {}
    for name, (org, roles) in CAST.items():
        user, _ = services.user_bootstrap(
            email=f"{name}@example.com", password=PASSWORD, org_slug=f"org-{org}", roles=roles
        )
        people[name] = user
    org_a = people["alice"].memberships.get().organization
    org_b = people["carol"].memberships.get().organization
    project_a = Project.objects.unscoped().create(
        organization=org_a, project_id="shop", name="Shop", emails="ops@example.com"
    )
    project_b = Project.objects.unscoped().create(
        organization=org_b, project_id="shop", name="Globex shop", emails="ops@globex.example"
    )
    app_a = App.objects.unscoped().create(organization=org_a, project=project_a, app_id="web", name="Web")
    app_b = App.objects.unscoped().create(organization=org_b, project=project_b, app_id="web", name="Web")
    return SimpleNamespace(
        **people, org_a=org_a, org_b=org_b, project_a=project_a, project_b=project_b, app_a=app_a, app_b=app_b
    )


@pytest.fixture
def login(client):  # type: ignore[no-untyped-def]
    """Sign a cast member into the test client: `login(cast.alice)`."""

    def _login(user):  # type: ignore[no-untyped-def]
        client.force_login(user)
        return client

    return _login


@pytest.fixture
def staff_client(cast, client):  # type: ignore[no-untyped-def]
    """A test client signed in as a support-staff superuser (alice, promoted)."""
    cast.alice.is_staff = cast.alice.is_superuser = True
    cast.alice.save()
    client.force_login(cast.alice)
    return client


@pytest.fixture
def api(db):  # type: ignore[no-untyped-def]
    """An API client that authenticates with a fresh bearer token: `api(cast.alice, org, read_only=False)`."""
    from rest_framework.test import APIClient

    from portal import services

    def _api(user, organization, *, read_only: bool = False):  # type: ignore[no-untyped-def]
        _, raw = services.api_token_create(
            organization=organization, user=user, name="test", read_only=read_only
        )
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        return client

    return _api
