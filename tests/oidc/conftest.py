"""A real OpenID Connect provider for the whole session, and the portal pointed at it per test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from portal.oidc import provider as provider_module
from tests.oidc.idp import IdentityProvider


@pytest.fixture(scope="session")
def idp(live_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[IdentityProvider]:
    started = IdentityProvider(tmp_path_factory.mktemp("idp"), live_server.url).start()
    yield started
    started.stop()


@pytest.fixture
def sso(idp: IdentityProvider, settings: Any) -> Iterator[IdentityProvider]:
    """The portal configured for the test provider (discovery and keys are fetched afresh)."""
    for name, value in idp.settings().items():
        setattr(settings, name, value)
    provider_module.reset_caches()
    yield idp
    provider_module.reset_caches()


@pytest.fixture
def mappings(cast: Any) -> Any:
    """Organization A maps its provider groups, approved by staff: clickstream-admins → admin, analysts → analyst."""
    from portal.models import GroupMapping

    GroupMapping.objects.unscoped().create(
        organization=cast.org_a, group="clickstream-admins", roles=["admin"], approved=True
    )
    GroupMapping.objects.unscoped().create(
        organization=cast.org_a, group="analysts", roles=["analyst"], approved=True
    )
    return cast


@pytest.fixture(autouse=True)
def fresh_rate_limits() -> Iterator[None]:
    """Sign-in rate limits live in the cache: no test here inherits another's failed attempts, or leaves its own."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
