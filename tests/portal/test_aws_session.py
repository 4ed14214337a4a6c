"""The AWS session factory: assume-role with the external id, cached credentials, retries, user agent, endpoint.

moto ignores external ids and trust policies, so what we send is checked on the request itself (botocore's
`before-call` / `before-send` events), never by moto refusing it.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from botocore.compat import datetime
from moto import mock_aws
from moto.server import ThreadedMotoServer

from portal import aws
from portal.models import AwsAccount

ROLE = "arn:aws:iam::123456789012:role/ClickstreamPortal"


@pytest.fixture
def account(cast: Any, aws_credentials: None) -> AwsAccount:
    return AwsAccount.objects.unscoped().create(
        organization=cast.org_a, name="Production", role_arn=ROLE, created_by=cast.alice
    )


@pytest.mark.django_db
def test_the_role_is_assumed_with_the_external_id_and_a_session_name(account, assume_role_calls):
    with mock_aws():
        session = aws.aws_session(account=account, region="eu-west-1")
        identity = aws.aws_client(session, "sts").get_caller_identity()
    assert identity["Account"] == "123456789012"
    assert "assumed-role/ClickstreamPortal/clickstream-org-a" in identity["Arn"]
    assert len(assume_role_calls) == 1
    sent = assume_role_calls[0]
    assert sent["RoleArn"] == ROLE
    assert sent["ExternalId"] == account.external_id
    assert sent["RoleSessionName"] == "clickstream-org-a"


@pytest.mark.django_db
def test_credentials_are_cached_until_five_minutes_before_they_expire(account, assume_role_calls):
    with mock_aws():
        for _ in range(3):
            aws.aws_client(aws.aws_session(account=account, region="us-east-1"), "sts").get_caller_identity()
        assert len(assume_role_calls) == 1
        cached = aws._credentials_for(account, "us-east-1")
        now = datetime.datetime.now(datetime.timezone.utc)
        cached._expiry_time = now + timedelta(minutes=10)
        aws.aws_session(account=account, region="us-east-1").client("sts").get_caller_identity()
        assert len(assume_role_calls) == 1  # ten minutes left: still good
        cached._expiry_time = now + timedelta(minutes=4)
        aws.aws_session(account=account, region="us-east-1").client("sts").get_caller_identity()
        assert len(assume_role_calls) == 2  # inside the five-minute window: refreshed
        aws.aws_session(account=account, region="eu-central-1").client("sts").get_caller_identity()
        assert len(assume_role_calls) == 3  # keyed by region too


@pytest.mark.django_db
def test_changing_the_role_never_reuses_old_credentials(account, assume_role_calls):
    with mock_aws():
        aws.aws_session(account=account, region="us-east-1").client("sts").get_caller_identity()
        account.role_arn = "arn:aws:iam::210987654321:role/Other"
        identity = aws.aws_session(account=account, region="us-east-1").client("sts").get_caller_identity()
    assert identity["Account"] == "210987654321"
    assert [c["RoleArn"] for c in assume_role_calls] == [ROLE, "arn:aws:iam::210987654321:role/Other"]


@pytest.mark.django_db
def test_every_client_gets_adaptive_retries_and_our_user_agent(account):
    agents: list[str] = []
    with mock_aws():
        session = aws.aws_session(account=account, region="us-east-1")
        for client in (aws.aws_client(session, "s3"), session.client("s3")):
            assert client.meta.config.retries["mode"] == "adaptive"
            assert client.meta.config.retries["total_max_attempts"] == 8
            client.meta.events.register(
                "before-send.s3.ListBuckets",
                lambda request, **_: agents.append(request.headers["User-Agent"]),
            )
            client.list_buckets()
    assert len(agents) == 2
    assert all(aws.USER_AGENT in (a.decode() if isinstance(a, bytes) else a) for a in agents)
    assert aws.USER_AGENT.startswith("clickstream/0.")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def moto_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    yield url
    server.stop()


@pytest.mark.django_db
def test_aws_endpoint_url_sends_every_call_to_the_emulator(
    account, assume_role_calls, moto_server, monkeypatch
):
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    hosts: list[str] = []
    session = aws.aws_session(account=account, region="us-east-1")
    client = aws.aws_client(session, "sts")
    client.meta.events.register("before-send", lambda request, **_: hosts.append(request.url))
    identity = client.get_caller_identity()  # no mock_aws here: only the server can answer
    assert identity["Account"] == "123456789012"
    assert hosts and all(h.startswith(moto_server) for h in hosts)
    assert len(assume_role_calls) == 1  # and AssumeRole itself went there too (it succeeded without real AWS)


@pytest.mark.django_db
def test_sessions_share_one_loader_so_a_service_model_is_read_once(account, monkeypatch):
    """A session per account and region is made each time one is asked for; its first client must not read and
    parse the service's JSON model again (about 0.15 s of CPU each, which made a 100-pipeline refresh slow)."""
    import botocore.loaders

    reads: list[str] = []
    load_file = botocore.loaders.JSONFileLoader.load_file
    monkeypatch.setattr(
        botocore.loaders.JSONFileLoader,
        "load_file",
        lambda self, path: reads.append(path) or load_file(self, path),
    )
    with mock_aws():
        aws.aws_client(aws.aws_session(account=account, region="us-east-1"), "cloudwatch")
        first = len(reads)
        for region in ("us-east-1", "eu-west-1", "us-east-1"):
            aws.aws_client(aws.aws_session(account=account, region=region), "cloudwatch")
        aws.aws_client(aws.base_session(region="us-east-1"), "cloudwatch")
    assert len(reads) == first, reads[first:]
    paths = aws.base_session()._session.get_component("data_loader").search_paths
    assert len(paths) == len(set(paths))  # boto3 adds its data directory per session: kept once
