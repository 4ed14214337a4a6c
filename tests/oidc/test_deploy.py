"""Production mode: `manage.py check --deploy` is clean, and the headers a browser sees are the hardened ones."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from portal.security import content_security_policy

PRODUCTION = {
    "CLICKSTREAM_PRODUCTION": "true",
    "SECRET_KEY": "q8#v0!x2Lr7$kP1m@N4z^T6w&Y9b*C3d(E5f)G7h_J0k+L2n=M4p",
    "ALLOWED_HOSTS": "portal.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://portal.example.com",
    "SECURE_PROXY_SSL_HEADER": "HTTP_X_FORWARDED_PROTO,https",
    "OIDC_ISSUER": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123",
    "OIDC_CLIENT_ID": "portal-client",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/postgres",
}


def manage(*args: str, **environ: str) -> subprocess.CompletedProcess:
    keep = {
        k: v for k, v in os.environ.items() if not k.startswith(("OIDC_", "COGNITO_", "SECURE_", "DJANGO_"))
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        env={**keep, "DJANGO_SETTINGS_MODULE": "portal.settings.base", **environ},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_in_production_mode(tmp_path):
    result = manage(
        "check", "--deploy", "--fail-level", "WARNING", **PRODUCTION, CLICKSTREAM_VAR_DIR=str(tmp_path)
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_settings_are_hardened(tmp_path):
    code = (
        "from django.conf import settings as s; print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, "
        "s.SESSION_COOKIE_HTTPONLY, s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, s.SECURE_PROXY_SSL_HEADER, "
        "s.CSRF_TRUSTED_ORIGINS, s.SESSION_COOKIE_AGE, s.X_FRAME_OPTIONS)"
    )
    result = manage("shell", "-c", code, **PRODUCTION, CLICKSTREAM_VAR_DIR=str(tmp_path))
    assert result.stdout.strip().splitlines()[-1].split() == [
        "True",
        "True",
        "True",
        "True",
        "31536000",
        "('HTTP_X_FORWARDED_PROTO',",
        "'https')",
        "['https://portal.example.com']",
        "28800",
        "DENY",
    ], result.stderr


def test_cognito_shortcut_configures_issuer_and_logout(tmp_path):
    code = "from django.conf import settings as s; print(s.OIDC_ISSUER, s.OIDC_LOGOUT_URL, s.OIDC_LOGOUT_STYLE, s.OIDC_PROVIDER_NAME)"
    cognito = {
        "COGNITO_USER_POOL_ID": "eu-west-1_AbCdEf123",
        "COGNITO_DOMAIN": "auth.example.com",
        "OIDC_CLIENT_ID": "x",
    }
    result = manage("shell", "-c", code, **cognito, CLICKSTREAM_VAR_DIR=str(tmp_path))
    assert result.stdout.strip().splitlines()[-1].split() == [
        "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123",
        "https://auth.example.com/logout",
        "cognito",
        "Cognito",
    ], result.stderr


def test_oidc_needs_a_client_id(tmp_path):
    result = manage("check", OIDC_ISSUER="https://idp.example", CLICKSTREAM_VAR_DIR=str(tmp_path))
    assert result.returncode != 0 and "OIDC_CLIENT_ID" in result.stderr


@pytest.mark.django_db
def test_every_response_carries_the_policy_and_security_headers(client):
    response = client.get("/accounts/login/")
    policy = response["Content-Security-Policy"]
    assert (
        "script-src 'self'" in policy and "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy
    )
    assert response["X-Frame-Options"] == "DENY" and response["X-Content-Type-Options"] == "nosniff"
    assert "unsafe-inline" in content_security_policy("/api/v1/docs/")  # Swagger UI only


@pytest.mark.django_db
def test_sign_in_attempts_are_rate_limited_per_account_and_per_ip(client, cast):
    from django.core.cache import cache

    from tests.conftest import PASSWORD

    def attempt(email: str, password: str, ip: str) -> bytes:
        return client.post("/accounts/login/", {"login": email, "password": password}, REMOTE_ADDR=ip).content

    for i in range(5):
        attempt("alice@example.com", "wrong", f"10.0.0.{i}")  # five guesses from five addresses
    assert b"Too many failed login attempts" in attempt("alice@example.com", PASSWORD, "10.0.0.9")
    assert "_auth_user_id" not in client.session  # even the right password waits: the account is limited

    cache.clear()
    for name in ("olivia", "ann", "bob", "carol", "olivia", "ann", "bob", "carol", "olivia", "ann"):
        attempt(f"{name}@example.com", "wrong", "10.0.1.1")  # ten guesses over four accounts, one address
    assert b"Too many failed login attempts" in attempt("alice@example.com", PASSWORD, "10.0.1.1")
    assert b"Too many failed login attempts" not in attempt("alice@example.com", PASSWORD, "10.0.1.2")
    assert client.session["_auth_user_id"] == str(cast.alice.pk)


def test_production_refuses_a_plain_http_issuer(tmp_path):
    environ = {**PRODUCTION, "OIDC_ISSUER": "http://idp.example"}
    result = manage("check", **environ, CLICKSTREAM_VAR_DIR=str(tmp_path))
    assert result.returncode != 0 and "must be an https:// URL" in result.stderr


def test_the_api_audiences_never_default_to_the_client_id(tmp_path):
    code = "from django.conf import settings as s; print(s.OIDC_API_AUDIENCES)"
    environ = {"OIDC_ISSUER": "https://idp.example", "OIDC_CLIENT_ID": "portal-client"}
    result = manage("shell", "-c", code, **environ, CLICKSTREAM_VAR_DIR=str(tmp_path))
    assert result.stdout.strip().splitlines()[-1] == "[]", result.stderr
    result = manage("check", **environ, OIDC_API_AUDIENCES="portal-client", CLICKSTREAM_VAR_DIR=str(tmp_path))
    assert result.returncode != 0 and "must not contain OIDC_CLIENT_ID" in result.stderr
