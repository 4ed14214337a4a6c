from __future__ import annotations

import pytest

from tests.pipelines.specs import ACCOUNT, ACCOUNT_UUID


@pytest.fixture
def cast(cast):  # type: ignore[no-untyped-def]
    """The shared cast, with an AWS account connected to organization A (the specs' `aws.account`)."""
    from portal.models.aws import AwsAccount

    cast.aws_account = AwsAccount.objects.unscoped().create(
        organization=cast.org_a,
        uuid=ACCOUNT_UUID,
        name="Production",
        role_arn=f"arn:aws:iam::{ACCOUNT}:role/Portal",
    )
    return cast
