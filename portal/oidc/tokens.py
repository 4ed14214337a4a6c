"""Checking JWTs from the identity provider: ID tokens at sign-in, access tokens on the API.

Signature against the provider's JWKS (asymmetric algorithms only: never `none`, never an HMAC keyed with a
public key), issuer, audience, expiry with a little clock-skew tolerance. Every refusal carries a short
reason fit for a WWW-Authenticate header: it says what was wrong with the token, never anything about us.
"""

from __future__ import annotations

from typing import Any

import jwt
from django.conf import settings

from portal.oidc import provider

REQUIRED_CLAIMS = ["exp", "iat", "iss", "sub"]


class TokenError(Exception):
    """The token is not acceptable; `reason` says why in a few words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _decode(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The token's header and its verified claims."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise TokenError("The token is malformed.") from None
    algorithm = header.get("alg")
    if algorithm not in settings.OIDC_SIGNING_ALGORITHMS:
        raise TokenError("The token is signed with an algorithm that is not accepted.")
    try:
        key = provider.jwks().key(header.get("kid"))
    except provider.UnknownKey:
        raise TokenError("The token is signed with an unknown key.") from None
    try:
        claims = jwt.decode(
            token,
            key=key,
            algorithms=[algorithm],
            issuer=settings.OIDC_ISSUER,
            leeway=settings.OIDC_CLOCK_SKEW_SECONDS,
            options={"require": REQUIRED_CLAIMS, "verify_aud": False},
        )
    except jwt.ExpiredSignatureError:
        raise TokenError("The token has expired.") from None
    except jwt.ImmatureSignatureError:
        raise TokenError("The token is not valid yet.") from None
    except jwt.InvalidIssuerError:
        raise TokenError("The token was issued by another issuer.") from None
    except jwt.InvalidSignatureError:
        raise TokenError("The token signature is invalid.") from None
    except jwt.MissingRequiredClaimError as exc:
        raise TokenError(f"The token lacks the {exc.claim} claim.") from None
    except jwt.PyJWTError:
        raise TokenError("The token is malformed.") from None
    return header, claims


def _audiences(claims: dict[str, Any]) -> set[str]:
    aud = claims.get("aud", [])
    return {aud} if isinstance(aud, str) else {a for a in aud if isinstance(a, str)}


def verify_id_token(token: str, *, nonce: str) -> dict[str, Any]:
    """An ID token from the sign-in: for our client, with the nonce we sent (OpenID Connect Core §3.1.3.7)."""
    _, claims = _decode(token)
    client_id = settings.OIDC_RP_CLIENT_ID
    audiences = _audiences(claims)
    if client_id not in audiences or (len(audiences) > 1 and claims.get("azp") != client_id):
        raise TokenError("The token is meant for another audience.")
    if not nonce or claims.get("nonce") != nonce:
        raise TokenError("The token's nonce does not match the sign-in request.")
    return claims


def is_access_token(header: dict[str, Any], claims: dict[str, Any]) -> bool:
    """Whether the provider marked the token as an access token: RFC 9068's `typ`, or Cognito's `token_use`."""
    typ = str(header.get("typ", "")).lower().removeprefix("application/")
    return typ == "at+jwt" or claims.get("token_use") == "access"


def verify_access_token(token: str) -> dict[str, Any]:
    """An access token sent to the API, never an ID token.

    An ID token is issued to our client (its `aud` is the client id) and says who signed in; accepting it as
    a bearer token would let anything that ever saw one (a browser extension, a log line) call the API. So a
    token passes when its audience is one configured for the API (OIDC_API_AUDIENCES, which may not contain
    the client id), or when it has no audience at all but the provider marked it as an access token issued to
    our client (Cognito's access tokens: `client_id` and `token_use: access`, no `aud`).
    """
    header, claims = _decode(token)
    if claims.get("token_use", "access") != "access":
        raise TokenError("Send an access token, not an ID token.")
    audiences = _audiences(claims)
    for_the_api = set(settings.OIDC_API_AUDIENCES) - {settings.OIDC_RP_CLIENT_ID}  # settings refuse it too
    if audiences & for_the_api:
        return claims
    if not is_access_token(header, claims):
        raise TokenError("Send an access token, not an ID token.")
    if audiences or claims.get("client_id") != settings.OIDC_RP_CLIENT_ID:
        raise TokenError("The token is meant for another audience.")
    return claims
