"""An admin connects an AWS account in the browser: role ARN in, external id and template out, then a test.

The live server runs in this process, so moto (in-process) answers the portal's STS calls.
"""

from __future__ import annotations

import re

import pytest
from moto import mock_aws

from portal import aws
from portal.models import AwsAccount
from tests.browser.test_portal_flow import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_connect_an_account_and_test_the_connection(page, monkeypatch, settings):
    for key, value in {
        "AWS_ACCESS_KEY_ID": "t",
        "AWS_SECRET_ACCESS_KEY": "t",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    settings.CLICKSTREAM_AWS_PRINCIPAL_ARN = "arn:aws:iam::111111111111:role/ClickstreamPortal"
    aws.clear_credentials_cache()
    sign_in(page, roles=["admin"])

    page.click("nav >> text=AWS accounts")
    page.click("text=Add AWS account")
    page.fill("#id_name", "Production")
    page.fill("#id_role_arn", "arn:aws:iam::123456789012:role/Clickstream-Portal")
    page.click("button:has-text('Create')")
    assert "could change its own permissions" in page.text_content("main")  # refused, next to the field
    page.fill("#id_role_arn", "arn:aws:iam::123456789012:role/ClickstreamPortalAccess")
    page.fill("#id_region", "eu-west-1")
    page.click("button:has-text('Create')")
    page.wait_for_url(re.compile(r"/o/acme/aws-accounts/[0-9a-f-]+/$"))

    account = AwsAccount.objects.unscoped().get()
    assert page.text_content("#external-id") == account.external_id
    assert page.is_visible("#template-download") and "not tested" in page.text_content("#last-test")
    with mock_aws():
        page.click("#test-connection")
        page.wait_for_selector("#last-test .badge:has-text('passed')")
    assert "Connected to account 123456789012" in page.content()
