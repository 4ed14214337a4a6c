"""The wizard in headless Chromium: a local pipeline to its review and saved; an aws one with pickers
filled from moto_server look-ups (over HTTP, AWS_ENDPOINT_URL) to its review."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from pipelines.models import Pipeline
from portal import services
from projects.models import App, Project
from tests.browser.conftest import page  # noqa: F401 (the shared fixture)
from tests.pipelines.specs import ACCOUNT, moto_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in_with_project(page):  # noqa: F811
    _, org = services.user_bootstrap(email="olga@example.com", password="A-long-pass-123", org_slug="acme",
                                     roles=["operator"])  # fmt: skip
    project = Project.objects.unscoped().create(
        organization=org, project_id="shop", name="Shop", emails="o@example.com"
    )
    App.objects.unscoped().create(organization=org, project=project, app_id="web", name="Web")
    page.goto("/")
    page.fill("input[name=login]", "olga@example.com")
    page.fill("input[name=password]", "A-long-pass-123")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/o/acme/$"))
    return org


def test_local_pipeline_through_the_wizard(page):  # noqa: F811
    sign_in_with_project(page)
    page.goto("/o/acme/projects/shop/")
    page.click("#create-pipeline")  # the project page leads to the wizard when there is no pipeline
    assert page.is_checked("input[name=provider][value=local]")  # no AWS account connected
    assert page.is_hidden("#step-ingestion") and page.is_visible("#id_lake_dir")
    page.fill("#id_schedule", "rate(2 minutes)")
    page.click("#review")
    # The review is a page load: wait for the returned form's message, not the field as it was before.
    expect(page.locator("#field-schedule")).to_contain_text(
        "The minimum interval of data processing is 6 minutes."
    )
    page.fill("#id_schedule", "rate(30 minutes)")
    page.fill("#id_enrichers", "ua,traffic")
    page.click("#review")
    page.wait_for_selector("#plan")
    assert page.locator("#plan tr[data-resource]").evaluate_all(
        "rows => rows.map(r => r.dataset.resource)"
    ) == ["lake", "allowlist", "processing", "warehouse"]
    assert "clickstream,ua,traffic" in page.text_content("tr[data-resource=processing]")
    page.click("#save")
    page.wait_for_url(re.compile(r"/o/acme/projects/shop/pipeline/$"))
    assert "Version" in page.text_content("main") and Pipeline.objects.unscoped().get().version_number == 1


@pytest.fixture
def aws_world(moto_endpoint):
    return moto_world()


def test_aws_pipeline_with_pickers_from_the_account(page, aws_world):  # noqa: F811
    from portal.models.aws import AwsAccount

    org = sign_in_with_project(page)
    AwsAccount.objects.unscoped().create(
        organization=org, name="Prod", role_arn=f"arn:aws:iam::{ACCOUNT}:role/Portal"
    )
    page.goto("/o/acme/projects/shop/pipeline/edit/")
    assert page.is_checked("input[name=provider][value=aws]")  # an account is connected
    page.select_option("#id_aws_account", label=f"Prod ({ACCOUNT})")
    page.click("[data-picker=vpc_id]")
    page.wait_for_selector("select#id_vpc_id")
    page.select_option("#id_vpc_id", aws_world["vpc"])
    page.click("[data-picker=bucket_name]")
    page.wait_for_selector("select#id_bucket_name")
    page.select_option("#id_bucket_name", "shop-data")
    for field, names in (
        ("public_subnet_ids", ["public-a", "public-b"]),
        ("private_subnet_ids", ["private-a", "private-b"]),
    ):
        page.click(f"[data-picker={field}]")
        page.wait_for_selector(f"select#id_{field}")
        page.select_option(f"#id_{field}", [aws_world["subnets"][n] for n in names])
    page.fill("#id_domain_name", "collect.example.com")
    page.click("[data-picker=certificate_arn]")
    page.wait_for_selector("select#id_certificate_arn")
    page.select_option("#id_certificate_arn", aws_world["certificate"])
    page.click("#review")
    page.wait_for_selector("#plan", timeout=30000)
    rows = page.locator("#plan tr[data-resource]").evaluate_all(
        "rows => rows.map(r => r.dataset.resource.split('-')[1])"
    )
    assert rows == ["ServiceCatalogAppRegistry", "Metrics", "Ingestion", "DataProcessing"]
    assert aws_world["subnets"]["private-a"] in page.text_content("#plan")
