"""The AWS session factory: every AWS call of the portal and the worker goes through here (DESIGN.md §4).

`aws_session(account=…, region=…)` assumes the organization's role with its external id and keeps the
temporary credentials in this process until shortly before they expire; `aws_client(session, service)` adds
adaptive retries and our user agent. Our own principal (the base session) comes from the environment, as
boto3 finds it (instance/task role, `AWS_PROFILE`, keys). `AWS_ENDPOINT_URL` (an emulator such as
`moto_server`) is honoured by botocore itself for every client, including STS.

Small modules per service take a session from here; they never build their own.
"""

from __future__ import annotations

import threading
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

import boto3
import botocore.loaders
import botocore.session
from botocore.config import Config
from botocore.credentials import DeferredRefreshableCredentials
from django.conf import settings

if TYPE_CHECKING:
    from portal.models.aws import AwsAccount

ROLE_SESSION_SECONDS = 3600


def _version() -> str:
    try:
        return version("clickstream")
    except PackageNotFoundError:  # a checkout that was never `pip install -e`'d
        return "0+unknown"


USER_AGENT = f"clickstream/{_version()}"


def client_config() -> Config:
    """Adaptive retries (client-side rate limiting on throttling) and our user agent, for every client."""
    return Config(
        # `total_max_attempts` counts the first try; botocore's `max_attempts` would count only the retries.
        retries={"mode": "adaptive", "total_max_attempts": settings.CLICKSTREAM_AWS_MAX_ATTEMPTS},
        user_agent_extra=USER_AGENT,
    )


# One loader of botocore's service models for every session of the process: a session of its own would read
# and parse each service's JSON again for its first client (~0.15 s of CPU a client), and a session is made
# per account and region each time one is asked for.
_LOADER = botocore.loaders.create_loader()


def _session(core: botocore.session.Session | None = None, **kwargs: Any) -> boto3.Session:
    core = core or botocore.session.get_session()
    core.register_component("data_loader", _LOADER)
    core.set_default_client_config(client_config())
    session = boto3.Session(botocore_session=core, **kwargs)
    # boto3 adds its own data directory to the loader's search path at every session: keep one of each.
    _LOADER.search_paths[:] = list(dict.fromkeys(_LOADER.search_paths))
    return session


def base_session(*, region: str | None = None) -> boto3.Session:
    """Our own principal, from the environment. Only the factory and the connection test use it directly."""
    return _session(region_name=region or settings.CLICKSTREAM_AWS_REGION)


class _RoleCredentials(DeferredRefreshableCredentials):
    """Assumed-role credentials, fetched on first use and again ~5 minutes before they expire."""

    _advisory_refresh_timeout = 5 * 60
    _mandatory_refresh_timeout = 2 * 60


_cache: dict[tuple[str, str, str, str], _RoleCredentials] = {}
_cache_lock = threading.Lock()


def role_session_name(account: AwsAccount) -> str:
    """Shown in the customer's CloudTrail: which organization of ours acted in their account."""
    return f"clickstream-{account.organization.slug}"[:64]


def assume_role(*, account: AwsAccount, region: str) -> dict[str, Any]:
    """One STS AssumeRole into the account's role with its external id; returns the `Credentials` dict."""
    sts = aws_client(base_session(region=region), "sts", region=region)
    response = sts.assume_role(
        RoleArn=account.role_arn,
        RoleSessionName=role_session_name(account),
        ExternalId=account.external_id,
        DurationSeconds=ROLE_SESSION_SECONDS,
    )
    return response["Credentials"]


def _credentials_for(account: AwsAccount, region: str) -> _RoleCredentials:
    # The role and external id are part of the key: editing the connection never reuses old credentials.
    key = (str(account.uuid), account.role_arn, account.external_id, region)
    with _cache_lock:
        credentials = _cache.get(key)
        if credentials is None:

            def fetch() -> dict[str, Any]:
                issued = assume_role(account=account, region=region)
                return {
                    "access_key": issued["AccessKeyId"],
                    "secret_key": issued["SecretAccessKey"],
                    "token": issued["SessionToken"],
                    "expiry_time": issued["Expiration"].isoformat(),
                }

            credentials = _cache[key] = _RoleCredentials(refresh_using=fetch, method="assume-role")
        return credentials


def aws_session(*, account: AwsAccount, region: str) -> boto3.Session:
    """A session acting in the organization's account. Cheap to call: the role's credentials are cached."""
    core = botocore.session.get_session()
    core._credentials = _credentials_for(account, region)  # botocore has no public setter for this
    return _session(core, region_name=region)


def session_from(*, credentials: dict[str, Any], region: str) -> boto3.Session:
    """A session with credentials just issued by AssumeRole (the connection test, which never uses the cache)."""
    return _session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=region,
    )


def aws_client(session: boto3.Session, service: str, *, region: str | None = None) -> Any:
    """A client of `service` with our retry policy and user agent (also the default for `session.client`)."""
    return session.client(service, region_name=region or session.region_name, config=client_config())


def error_reason(exc: Exception) -> str:
    """What AWS said, for a person: `Code: Message` of a ClientError, else the error's own text."""
    from botocore.exceptions import ClientError

    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"{error.get('Code', 'Error')}: {error.get('Message', '')}".rstrip(": ")
    return str(exc)


def clear_credentials_cache() -> None:
    """Forget every cached role credential (tests, and after a connection's role changes)."""
    with _cache_lock:
        _cache.clear()
