"""The test identity provider: node-oidc-provider (npm `oidc-provider`) started on loopback by the tests.

`IdentityProvider.start()` installs the npm package into tests/oidc/provider/ on first use, writes the
configuration (clients, users with groups, an RSA signing key) and waits for the server. `tokens()` runs the
authorization-code flow with PKCE the way a command-line integration would, and returns the token response.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa

PROVIDER_DIR = Path(__file__).resolve().parent / "provider"
CLIENT_ID = "clickstream"
SHORT_CLIENT_ID = "clickstream-short"  # its access tokens live two seconds
CLIENT_SECRET = "test-client-secret-0123456789abcdef"
API_AUDIENCE = "https://api.clickstream.test"
OTHER_AUDIENCE = "https://other.example"
SCRIPT_REDIRECT = "http://127.0.0.1:9/callback"  # a command-line client's redirect: the code is read off it
TEST_CLIENT_CALLBACK = "http://testserver/oidc/callback/"  # Django's test client
PASSWORD = "provider-Pass-123"

USERS: dict[str, dict[str, Any]] = {
    "ada@corp.example": {"sub": "u-ada", "groups": ["clickstream-admins"]},
    "carol@example.com": {"sub": "u-carol", "groups": ["analysts"]},  # also a local user of the cast
    "ben@corp.example": {"sub": "u-ben", "groups": ["analysts", "staff"]},
    "cy@corp.example": {"sub": "u-cy", "groups": ["staff"]},
    "dee@corp.example": {"sub": "u-dee", "groups": ["analysts"], "email_verified": False},
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rsa_jwk(kid: str) -> dict[str, Any]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key))
    # PyJWT marks a private JWK `key_ops: ["sign"]`; the provider then finds no key to verify its own id tokens
    # with (an id_token_hint at logout). `use: sig` says both.
    jwk.pop("key_ops", None)
    return {**jwk, "kid": kid, "alg": "RS256", "use": "sig"}


def npm_install() -> None:
    if (PROVIDER_DIR / "node_modules" / "oidc-provider").is_dir():
        return
    if not shutil.which("npm"):
        pytest.fail("npm is required for the OIDC tests (make install provides it)")
    subprocess.run(
        ["npm", "install", "--no-package-lock", "--no-audit", "--no-fund"],
        cwd=PROVIDER_DIR,
        check=True,
        timeout=300,
    )


class IdentityProvider:
    def __init__(self, tmp_dir: Path, portal_url: str) -> None:
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.portal_url = portal_url.rstrip("/")
        self.config_path = tmp_dir / "provider.json"
        self.process: subprocess.Popen | None = None

    def config(self) -> dict[str, Any]:
        client: dict[str, Any] = {
            "client_secret": CLIENT_SECRET,
            "redirect_uris": [f"{self.portal_url}/oidc/callback/", TEST_CLIENT_CALLBACK, SCRIPT_REDIRECT],
            "post_logout_redirect_uris": [
                f"{self.portal_url}/accounts/login/",
                "http://testserver/accounts/login/",
            ],
            "grant_types": ["authorization_code"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "client_secret_post",
        }
        return {
            "port": self.port,
            "issuer": self.issuer,
            "clients": [{**client, "client_id": CLIENT_ID}, {**client, "client_id": SHORT_CLIENT_ID}],
            "resources": [API_AUDIENCE, OTHER_AUDIENCE],
            "users": {email: {**u, "password": PASSWORD} for email, u in USERS.items()},
            "keys": [rsa_jwk("key-1")],
        }

    def start(self) -> IdentityProvider:
        npm_install()
        self.config_path.write_text(json.dumps(self.config()))
        self.process = subprocess.Popen(
            ["node", "server.js", str(self.config_path)],
            cwd=PROVIDER_DIR,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                requests.get(f"{self.issuer}/.well-known/openid-configuration", timeout=1).raise_for_status()
                return self
            except requests.RequestException:
                if self.process.poll() is not None:
                    pytest.fail(f"the test provider exited: {self.process.stdout.read()}")  # type: ignore[union-attr]
                time.sleep(0.1)
        pytest.fail("the test provider did not start within 30 s")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()

    def rotate_keys(self) -> str:
        return requests.post(f"{self.issuer}/__test__/rotate", timeout=5).json()["kid"]

    def settings(self) -> dict[str, Any]:
        """The Django settings that point the portal at this provider."""
        return {
            "OIDC_ISSUER": self.issuer,
            "OIDC_ENABLED": True,
            "OIDC_PROVIDER_NAME": "Test IdP",
            "OIDC_RP_CLIENT_ID": CLIENT_ID,
            "OIDC_RP_CLIENT_SECRET": CLIENT_SECRET,
            "OIDC_RP_SCOPES": "openid email profile groups",
            "OIDC_ROLES_CLAIM": "groups",
            "OIDC_API_AUDIENCES": [API_AUDIENCE],
            "OIDC_LOGOUT_URL": "",
            "OIDC_LOGOUT_STYLE": "oidc",
        }

    def sign_in(self, start_url: str, email: str, password: str = PASSWORD) -> str:
        """Follow a portal's redirect to the provider, sign in there, and return the portal callback URL."""
        session = requests.Session()
        response = self._follow(
            session, session.get(start_url, allow_redirects=False), stop=TEST_CLIENT_CALLBACK
        )
        login_url = urljoin(response.url, response.text.split('action="')[1].split('"')[0])
        response = session.post(login_url, data={"email": email, "password": password}, allow_redirects=False)
        response = self._follow(session, response, stop=TEST_CLIENT_CALLBACK)
        return response.headers["location"]

    def tokens(
        self,
        email: str,
        *,
        password: str = PASSWORD,
        client_id: str = CLIENT_ID,
        resource: str = API_AUDIENCE,
    ) -> dict[str, Any]:
        """Sign in at the provider as a script would (code flow, PKCE) and exchange the code for tokens."""
        session = requests.Session()
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        params = {
            "client_id": client_id,
            "response_type": "code",
            "scope": "openid email groups api",
            "redirect_uri": SCRIPT_REDIRECT,
            "state": secrets.token_urlsafe(8),
            "nonce": secrets.token_urlsafe(8),
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "resource": resource,
        }
        response = session.get(f"{self.issuer}/auth", params=params, allow_redirects=False)
        response = self._follow(session, response)
        login_url = urljoin(response.url, response.text.split('action="')[1].split('"')[0])
        response = session.post(login_url, data={"email": email, "password": password}, allow_redirects=False)
        response = self._follow(session, response)
        code = parse_qs(urlsplit(response.headers["location"]).query)["code"][0]
        token = session.post(
            f"{self.issuer}/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": SCRIPT_REDIRECT,
                "code_verifier": verifier,
                "client_id": client_id,
                "client_secret": CLIENT_SECRET,
                "resource": resource,
            },
            timeout=10,
        )
        token.raise_for_status()
        return token.json()

    @staticmethod
    def _follow(
        session: requests.Session, response: requests.Response, stop: str = SCRIPT_REDIRECT
    ) -> requests.Response:
        """Follow the provider's own redirects; stop at the client's redirect URI (which nobody listens on)."""
        while response.is_redirect and not response.headers["location"].startswith(stop):
            response = session.get(urljoin(response.url, response.headers["location"]), allow_redirects=False)
        return response
