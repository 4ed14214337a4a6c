from __future__ import annotations

import pytest

from tests.pipelines.specs import ACCOUNT, ACCOUNT_UUID


@pytest.fixture
def cast(db, cast):  # type: ignore[no-untyped-def]  # `db` first: pytest-django must see it
    """The shared cast, with an AWS account connected to organization A (the specs' `aws.account`)."""
    from portal.models.aws import AwsAccount

    cast.aws_account = AwsAccount.objects.unscoped().create(
        organization=cast.org_a,
        uuid=ACCOUNT_UUID,
        name="Production",
        role_arn=f"arn:aws:iam::{ACCOUNT}:role/Portal",
    )
    return cast


@pytest.fixture(scope="module")
def moto_endpoint():  # type: ignore[no-untyped-def]
    """moto_server over HTTP, reached through `AWS_ENDPOINT_URL` as the portal would reach an emulator.

    One server (and one warm moto backend) per module; its state is reset when the module ends.
    """
    import os
    import socket

    import requests
    from moto.server import ThreadedMotoServer

    from portal.aws import clear_credentials_cache

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    env = {"AWS_ENDPOINT_URL": url, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_DEFAULT_REGION": "us-east-1"}  # fmt: skip
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    clear_credentials_cache()
    try:
        yield url
    finally:
        requests.post(f"{url}/moto-api/reset", timeout=10)
        server.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        clear_credentials_cache()
