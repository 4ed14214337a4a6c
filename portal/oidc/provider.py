"""The identity provider as we see it: its discovery document and its signing keys, both cached.

Discovery (`<issuer>/.well-known/openid-configuration`) is read on first use and kept for an hour; the JWKS
is kept for ten minutes and re-read early when a token names a key we do not have (the provider rotated its
keys), but never more than once every few seconds, so a stream of tokens with made-up key ids cannot turn
us into a load generator against the provider.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import jwt
import requests
from django.conf import settings

DISCOVERY_TTL = 3600.0
JWKS_TTL = 600.0
JWKS_MIN_REFRESH_INTERVAL = 5.0


class ProviderUnavailable(Exception):
    """The identity provider could not be reached or answered nonsense."""


@dataclass(frozen=True)
class ProviderMetadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str = ""
    end_session_endpoint: str = ""


_lock = threading.Lock()
_discovery: dict[str, tuple[float, ProviderMetadata]] = {}
_jwks: dict[str, JWKSCache] = {}


def _get_json(url: str) -> Any:
    try:
        response = requests.get(url, timeout=settings.OIDC_TIMEOUT)
        response.raise_for_status()
        return response.json()
    except (requests.RequestException, ValueError) as exc:
        raise ProviderUnavailable(f"{url}: {exc.__class__.__name__}") from exc


def metadata() -> ProviderMetadata:
    """The configured provider's endpoints, from its discovery document."""
    issuer = settings.OIDC_ISSUER
    cached = _discovery.get(issuer)
    if cached and time.monotonic() - cached[0] < DISCOVERY_TTL:
        return cached[1]
    document = _get_json(f"{issuer}/.well-known/openid-configuration")
    if not isinstance(document, dict) or document.get("issuer", "").rstrip("/") != issuer:
        # OpenID Connect Discovery §4.3: the document must name the issuer it was fetched from.
        raise ProviderUnavailable("The discovery document names another issuer.")
    try:
        meta = ProviderMetadata(
            issuer=issuer,
            authorization_endpoint=document["authorization_endpoint"],
            token_endpoint=document["token_endpoint"],
            jwks_uri=document["jwks_uri"],
            userinfo_endpoint=document.get("userinfo_endpoint", ""),
            end_session_endpoint=document.get("end_session_endpoint", ""),
        )
    except KeyError as exc:
        raise ProviderUnavailable(f"The discovery document lacks {exc}.") from None
    _discovery[issuer] = (time.monotonic(), meta)
    return meta


class UnknownKey(Exception):
    """No key of the provider's JWKS has this key id."""


class JWKSCache:
    """The provider's public keys by key id."""

    def __init__(self, uri: str) -> None:
        self.uri = uri
        self.keys: dict[str, jwt.PyJWK] = {}
        self.fetched_at = float("-inf")
        self.lock = threading.Lock()

    def key(self, kid: str | None) -> jwt.PyJWK:
        age = time.monotonic() - self.fetched_at
        if age > JWKS_TTL or (self._find(kid) is None and age > JWKS_MIN_REFRESH_INTERVAL):
            self.refresh()
        found = self._find(kid)
        if found is None:
            raise UnknownKey(kid)
        return found

    def _find(self, kid: str | None) -> jwt.PyJWK | None:
        if kid is None:
            return next(iter(self.keys.values())) if len(self.keys) == 1 else None
        return self.keys.get(kid)

    def refresh(self) -> None:
        with self.lock:
            document = _get_json(self.uri)
            keys = {}
            for index, data in enumerate(document.get("keys", []) if isinstance(document, dict) else []):
                if data.get("use", "sig") != "sig":
                    continue
                try:
                    keys[data.get("kid") or f"#{index}"] = jwt.PyJWK(data)
                except jwt.PyJWTError:
                    continue  # a key type we cannot use (or a malformed one) is skipped, not fatal
            self.keys = keys
            self.fetched_at = time.monotonic()


def jwks() -> JWKSCache:
    uri = metadata().jwks_uri
    with _lock:
        cache = _jwks.get(uri)
        if cache is None:
            cache = _jwks[uri] = JWKSCache(uri)
    return cache


def reset_caches() -> None:
    """Forget discovery and keys (tests; a changed configuration)."""
    _discovery.clear()
    _jwks.clear()
