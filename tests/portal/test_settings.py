from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from portal.settings import env

CHECK = [sys.executable, "manage.py", "check"]


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
        SECRET_KEY="k" * 60,
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
