"""The JWT checks alone, with keys made here: what a provider would never send, an attacker might."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from portal.oidc import provider, services, tokens

ISSUER = "https://idp.example"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(autouse=True)
def keys(monkeypatch: pytest.MonkeyPatch, settings: Any) -> None:
    settings.OIDC_ISSUER = ISSUER
    settings.OIDC_RP_CLIENT_ID = "portal"
    settings.OIDC_API_AUDIENCES = ["api"]
    settings.OIDC_CLOCK_SKEW_SECONDS = 30
    cache = provider.JWKSCache("https://idp.example/jwks")
    cache.keys = {"k1": jwt.PyJWK(jwt.algorithms.RSAAlgorithm.to_jwk(KEY.public_key(), as_dict=True))}
    cache.fetched_at = time.monotonic()
    cache.refresh = lambda: None  # type: ignore[method-assign]
    monkeypatch.setattr(provider, "jwks", lambda: cache)


def make(
    key: Any = KEY, alg: str = "RS256", kid: str | None = "k1", typ: str = "JWT", **overrides: Any
) -> str:
    now = int(time.time())
    claims = {"iss": ISSUER, "sub": "s1", "aud": "api", "iat": now, "exp": now + 300, **overrides}
    return jwt.encode(
        {k: v for k, v in claims.items() if v is not None},
        key,
        algorithm=alg,
        headers={"kid": kid, "typ": typ},
    )


def refused(token: str, reason: str) -> None:
    with pytest.raises(tokens.TokenError) as caught:
        tokens.verify_access_token(token)
    assert reason in caught.value.reason


def test_a_good_token_passes():
    assert tokens.verify_access_token(make())["sub"] == "s1"
    cognito = make(aud=None, client_id="portal", token_use="access")  # Cognito's access tokens have no aud
    assert tokens.verify_access_token(cognito)["sub"] == "s1"
    assert tokens.verify_access_token(make(typ="at+jwt"))["sub"] == "s1"  # RFC 9068, for the API's audience


def test_an_id_token_for_our_client_is_not_an_api_token(settings):
    """Security review, item 9: the client's ID tokens (aud = client id, no access-token marker) are refused,
    whatever the API audiences are; before, the default audiences were the client id and they passed."""
    id_token = make(aud="portal", nonce="n1")
    for audiences in ([], ["api"], ["portal"]):  # the last: the old default, now refused at start-up too
        settings.OIDC_API_AUDIENCES = audiences
        refused(id_token, "Send an access token, not an ID token.")
        refused(make(aud=None, client_id="portal"), "Send an access token")  # no token_use: not Cognito's
    refused(make(aud="portal", typ="at+jwt"), "another audience")  # an access token for the portal's client
    refused(make(aud=None, client_id="other-client", token_use="access"), "another audience")


def test_every_bad_token_is_refused_with_its_reason():
    refused(make(iss="https://evil.example"), "another issuer")
    refused(make(aud="someone-else", typ="at+jwt"), "another audience")
    refused(make(exp=int(time.time()) - 120), "expired")
    refused(make(nbf=int(time.time()) + 600), "not valid yet")
    refused(make(OTHER_KEY), "signature is invalid")
    refused(make(kid="k9"), "unknown key")
    refused(make(sub=None), "lacks the sub claim")
    refused(make(token_use="id"), "not an ID token")


def test_unsigned_and_hmac_tokens_are_refused():
    refused(jwt.encode({"iss": ISSUER, "sub": "s1", "aud": "api"}, key="", algorithm="none"), "algorithm")
    refused(make(key="a-shared-secret-of-32-bytes-000000", alg="HS256"), "algorithm")


def test_id_tokens_need_our_client_and_the_nonce():
    token = make(aud="portal", nonce="n1")
    assert tokens.verify_id_token(token, nonce="n1")["sub"] == "s1"
    with pytest.raises(tokens.TokenError, match="nonce"):
        tokens.verify_id_token(token, nonce="n2")
    with pytest.raises(tokens.TokenError, match="audience"):
        tokens.verify_id_token(make(aud=["portal", "other"], nonce="n1"), nonce="n1")


@pytest.mark.parametrize(
    ("claims", "path", "groups"),
    [
        ({"cognito:groups": ["a", "b"]}, "cognito:groups", ["a", "b"]),
        ({"realm_access": {"roles": ["x"]}}, "realm_access.roles", ["x"]),
        ({"https://corp.example/roles": "a, b"}, "https://corp.example/roles", ["a", "b"]),
        ({"groups": []}, "groups", []),
        ({}, "cognito:groups", None),
    ],
)
def test_groups_are_read_from_a_claim_or_a_path(claims, path, groups):
    assert services.claim_groups(claims, path) == groups
