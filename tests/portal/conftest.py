"""Fixtures for the AWS tests: our principal's credentials, and a record of what AssumeRole sends."""

from __future__ import annotations

from typing import Any

import pytest

from portal import aws


@pytest.fixture
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Test keys for our own principal (moto accepts any), no emulator endpoint, no cached role credentials."""
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    aws.clear_credentials_cache()


@pytest.fixture
def assume_role_calls(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """AssumeRole's parameters as botocore is about to send them (moto ignores the external id, so the
    request itself is what a test checks)."""
    calls: list[dict[str, Any]] = []
    original = aws.base_session

    def watched(**kwargs: Any) -> Any:
        session = original(**kwargs)
        session.events.register(
            "before-call.sts.AssumeRole", lambda params, **_: calls.append(dict(params["body"]))
        )
        return session

    monkeypatch.setattr(aws, "base_session", watched)
    return calls
