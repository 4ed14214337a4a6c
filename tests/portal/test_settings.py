from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from portal.settings import env
from portal.settings.env import DEV_SECRET_KEY

CHECK = [sys.executable, "manage.py", "check"]
STRONG_KEY = "q8#v0!x2Lr7$kP1m@N4z^T6w&Y9b*C3d(E5f)G7h_J0k+L2n=M4p"
# Reading the settings module alone is enough, and ten times faster than starting Django.
READ = "import json, portal.settings.base as s; print(json.dumps({'debug': s.DEBUG, 'key': s.SECRET_KEY}))"


def run_check(**environ: str) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"SECRET_KEY", "ALLOWED_HOSTS", "DJANGO_SETTINGS_MODULE"}
    }
    return subprocess.run(
        CHECK,
        env={**clean, "DJANGO_SETTINGS_MODULE": "portal.settings.base", **environ},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_refuses_to_start_without_a_secret_key():
    result = run_check(CLICKSTREAM_PRODUCTION="true", ALLOWED_HOSTS="portal.example.com")
    assert result.returncode != 0 and "Set the environment variable SECRET_KEY" in result.stderr


def test_production_refuses_to_start_without_allowed_hosts(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("x" * 60)
    result = run_check(CLICKSTREAM_PRODUCTION="true", SECRET_KEY_FILE=str(secret))
    assert result.returncode != 0 and "ALLOWED_HOSTS" in result.stderr


def test_production_starts_with_both(tmp_path):
    result = run_check(
        CLICKSTREAM_PRODUCTION="true",
        SECRET_KEY=STRONG_KEY,
        ALLOWED_HOSTS="portal.example.com",
        CLICKSTREAM_VAR_DIR=str(tmp_path),
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("reader", "raw", "message"),
    [(env.env_bool, "maybe", "must be one of"), (env.env_int, "ten", "must be an integer")],
)
def test_malformed_values_stop_start_up(monkeypatch, reader, raw, message):
    monkeypatch.setenv("SOME_SETTING", raw)
    with pytest.raises(ImproperlyConfigured, match=message):
        reader("SOME_SETTING", 1)


def test_lists_and_secret_files(monkeypatch, tmp_path):
    monkeypatch.setenv("HOSTS", " a.example , b.example,, ")
    assert env.env_list("HOSTS") == ["a.example", "b.example"]
    monkeypatch.setenv("TOKEN_FILE", str(tmp_path / "missing"))
    with pytest.raises(ImproperlyConfigured, match="cannot be read"):
        env.env_secret("TOKEN")


def read_settings(**environ: str) -> dict | str:
    """The settings' DEBUG and SECRET_KEY with exactly these variables set, or the error that stopped them."""
    clean = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "ALLOWED_HOSTS", "DEBUG"}}
    clean.pop("CLICKSTREAM_PRODUCTION", None)
    result = subprocess.run(
        [sys.executable, "-c", READ], env={**clean, **environ}, capture_output=True, text=True, timeout=60
    )
    if result.returncode:
        return result.stderr.strip().splitlines()[-1]
    return json.loads(result.stdout)


PRODUCTION = {"CLICKSTREAM_PRODUCTION": "true", "ALLOWED_HOSTS": "portal.example.com"}


@pytest.mark.parametrize(
    ("environ", "debug"),
    [
        ({}, False),
        ({"DEBUG": "true"}, True),
        ({"DEBUG": "0"}, False),
        ({**PRODUCTION, "SECRET_KEY": STRONG_KEY}, False),
    ],
    ids=["development-default", "asked-for", "refused", "production"],
)
def test_debug_is_off_unless_asked_for(environ, debug):
    """It was on by default outside production: any error showed a traceback and the settings."""
    assert read_settings(**environ)["debug"] is debug


@pytest.mark.parametrize(
    "hosts",
    [
        "127.0.0.1,localhost,testserver",
        "::1,[::1],127.0.0.2,app.localhost,.localhost",
    ],
)
def test_the_development_key_serves_loopback_hosts(hosts):
    assert read_settings(ALLOWED_HOSTS=hosts)["key"] == DEV_SECRET_KEY


@pytest.mark.parametrize("hosts", ["portal.example.com", "localhost,10.0.0.5", "*", "127.0.0.1,0.0.0.0"])
def test_the_development_key_is_refused_for_a_host_others_can_reach(hosts):
    """A portal on a public address signed its sessions with the key printed in this repository."""
    error = read_settings(ALLOWED_HOSTS=hosts)
    assert isinstance(error, str) and "ImproperlyConfigured: The development SECRET_KEY is public" in error
    assert read_settings(ALLOWED_HOSTS=hosts, SECRET_KEY=STRONG_KEY)["key"] == STRONG_KEY


def test_the_development_key_is_refused_even_when_set_by_hand():
    error = read_settings(ALLOWED_HOSTS="portal.example.com", SECRET_KEY=DEV_SECRET_KEY)
    assert isinstance(error, str) and "development SECRET_KEY is public" in error


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("short-but-random-Zq3!", "is 21 characters long; use at least 50"),
        (DEV_SECRET_KEY, "well-known"),
        ("django-insecure-" + "a8Zq3!kP1m@N4z^T6w&Y9b*C3d(E5f)G7h_J0k+L2n=M4p", "well-known"),
        ("CHANGEME" + STRONG_KEY, "well-known"),
        ("please-change-me-" + STRONG_KEY, "well-known"),
        ("ab" * 30, "repeats too few characters"),
    ],
    ids=["short", "development-key", "startproject-prefix", "changeme", "change-me", "not-random"],
)
def test_production_refuses_a_weak_or_well_known_key(key, reason, tmp_path):
    """Production took any key at all, even Django's example or the development one."""
    error = read_settings(**PRODUCTION, SECRET_KEY=key)
    assert isinstance(error, str) and "ImproperlyConfigured: SECRET_KEY" in error and reason in error
    (tmp_path / "key").write_text(key + "\n")
    error = read_settings(**PRODUCTION, SECRET_KEY_FILE=str(tmp_path / "key"))
    assert isinstance(error, str) and reason in error


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("localhost", True), ("127.8.9.1", True), ("[::1]", True), ("LOCALHOST", True), ("a.localhost", True),
     ("localhost.example.com", False), ("0.0.0.0", False), ("*", False), ("", False), ("192.168.1.1", False)],
)  # fmt: skip
def test_loopback_hosts(host, loopback):
    assert env.is_loopback_host(host) is loopback
