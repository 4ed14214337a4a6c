"""The AWS provider's journeys against moto's CloudFormation, in-process, over the real templates.

moto creates a stack at once and never fails, rolls back or throttles; it accepts the AppRegistry, Metrics
and Ingestion templates (ignoring the resource types it does not model) and refuses DataProcessing's
(`Fn::GetAtt` of `AWS::EMRServerless::Application`), so these journeys run a pipeline without processing;
the DataProcessing stack's lifecycle and every failure state are in test_failures.py, with botocore's Stubber.
"""

from __future__ import annotations

import json

import boto3
import pytest
from django.utils import timezone

from provisioning.models import PipelineResource
from provisioning.selectors import pipeline_state
from tests.provisioning.aws.conftest import REGION, ROLE_ARN, moto_spec

pytestmark = pytest.mark.django_db

STACKS = ["Clickstream-ServiceCatalogAppRegistry-{}", "Clickstream-Metrics-{}", "Clickstream-Ingestion-{}"]


def cfn():  # type: ignore[no-untyped-def]
    return boto3.client("cloudformation", region_name=REGION)


def live_stacks() -> dict[str, str]:
    return {s["StackName"]: s["StackStatus"] for s in cfn().describe_stacks()["Stacks"]}


def records(pipeline) -> dict[str, PipelineResource]:  # type: ignore[no-untyped-def]
    return {r.name: r for r in PipelineResource.objects.unscoped().filter(pipeline=pipeline)}


def test_create_makes_every_stack(cast, account, network, save):
    pipeline = save(cast.project_a, moto_spec(account, network)).pipeline
    names = [s.format(pipeline.pipeline_id) for s in STACKS]
    assert live_stacks() == {n: "CREATE_COMPLETE" for n in names}
    rows = records(pipeline)
    assert {n: r.state for n, r in rows.items()} == {n: "CREATE_COMPLETE" for n in names}
    assert pipeline_state(pipeline=pipeline).status == "Active"
    for name in names:
        assert cfn().describe_stacks(StackName=name)["Stacks"][0]["EnableTerminationProtection"] is True
        assert rows[name].outputs["StackId"].startswith("arn:aws:cloudformation:")


def params(name: str) -> dict[str, str]:
    stack = cfn().describe_stacks(StackName=name)["Stacks"][0]
    return {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}


def tags(name: str) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in cfn().describe_stacks(StackName=name)["Stacks"][0].get("Tags", [])}


def test_journey_create_app_added_update_upgrade_retry_delete(
    cast, account, network, save, django_capture_on_commit_callbacks, monkeypatch
):
    journey(cast, account, network, save, django_capture_on_commit_callbacks, monkeypatch)


def test_journey_over_moto_server(
    cast, account, server_network, moto_server, save, django_capture_on_commit_callbacks, monkeypatch
):
    """The same journey with every call over HTTP to `moto_server`, through the portal's session factory."""
    journey(cast, account, server_network, save, django_capture_on_commit_callbacks, monkeypatch)
    ours = {service for service, agent in moto_server if "clickstream/" in agent}
    assert {"sts", "cloudformation"} <= ours


def journey(cast, account, network, save, capture, monkeypatch):  # type: ignore[no-untyped-def]
    """Create, an app added, an update, an upgrade, a Retry after a failed update, and the delete."""
    from moto.acm.models import acm_backends

    from pipelines import services as pipeline_services
    from projects.models import App
    from provisioning.services import pipeline_retry

    # Create.
    pipeline = save(cast.project_a, moto_spec(account, network)).pipeline
    registry, metrics, ingestion = (s.format(pipeline.pipeline_id) for s in STACKS)
    assert set(live_stacks().values()) == {"CREATE_COMPLETE"}
    assert params(ingestion)["AppIds"] == "web"
    protected = {n: cfn().describe_stacks(StackName=n)["Stacks"][0]["EnableTerminationProtection"]
                 for n in (registry, metrics, ingestion)}  # fmt: skip
    assert set(protected.values()) == {True}

    # An app added reaches exactly the stacks that take the app list (here: Ingestion).
    with capture(execute=True):
        App.objects.unscoped().create(
            organization=cast.org_a, project=cast.project_a, app_id="ios", name="iOS"
        )
    assert params(ingestion)["AppIds"] == "ios,web"
    assert live_stacks() == {
        registry: "CREATE_COMPLETE",
        metrics: "CREATE_COMPLETE",
        ingestion: "UPDATE_COMPLETE",
    }
    assert pipeline_state(pipeline=pipeline).status == "Active"

    # An update of one parameter changes that stack only.
    spec = moto_spec(account, network)
    spec["ingestion"]["server_max"] = 6
    save(cast.project_a, spec)
    assert params(ingestion)["ServerMax"] == "6"
    assert records(pipeline)[metrics].state == "CREATE_COMPLETE"

    # A new release's templates (v1.3.0): an Update keeps each stack's deployed template (only the changed
    # parameter reaches its stack); the Upgrade is offered, and it updates every stack.
    from provisioning.selectors import upgrade_offer
    from provisioning.services import NothingToUpgrade, pipeline_upgrade

    assert upgrade_offer(pipeline=pipeline) is None
    monkeypatch.setattr("provisioning.aws.TEMPLATE_VERSION", "v1.3.0")
    spec["ingestion"]["server_max"] = 7
    save(cast.project_a, spec)
    assert params(ingestion)["ServerMax"] == "7"
    body = cfn().get_template(StackName=ingestion)["TemplateBody"]
    assert body["Metadata"]["Clickstream"] == {"TemplateVersion": "v1.2.0"}
    assert tags(ingestion)["aws-solution/version"] == "v1.2.0"
    assert records(pipeline)[metrics].state == "CREATE_COMPLETE"
    offer = upgrade_offer(pipeline=pipeline)
    assert offer is not None and (offer.from_version, offer.to_version) == ("v1.2.0", "v1.3.0")
    assert sorted(offer.stacks) == sorted([registry, metrics, ingestion])
    with capture(execute=True):
        pipeline_upgrade(pipeline=pipeline)
    assert set(live_stacks().values()) == {"UPDATE_COMPLETE"}
    assert params(ingestion)["ServerMax"] == "7"
    assert upgrade_offer(pipeline=pipeline) is None
    with pytest.raises(NothingToUpgrade, match="already the latest version"):
        pipeline_upgrade(pipeline=pipeline)
    for name in (registry, metrics, ingestion):
        body = cfn().get_template(StackName=name)["TemplateBody"]
        assert body["Metadata"]["Clickstream"] == {"TemplateVersion": "v1.3.0"}
    assert {r.template_version for r in records(pipeline).values()} == {"v1.3.0"}

    # Retry: the update names a certificate that is not in ACM (moto's load balancer listener checks it);
    # once it is (put back into moto's ACM, as the person would import it), Retry applies the update again.
    acm = acm_backends[account_id()][REGION]
    arn = boto3.client("acm", region_name=REGION).request_certificate(DomainName="collect.example.com")[
        "CertificateArn"
    ]
    certificate = acm._certificates.pop(arn)
    spec["ingestion"]["certificate_arn"] = arn
    save(cast.project_a, spec)
    failed = records(pipeline)[ingestion]
    assert failed.state == "UPDATE_FAILED" and f"Certificate {arn} not found" in failed.reason
    assert "press Retry" in failed.reason
    assert pipeline_state(pipeline=pipeline).status == "Warning"  # the stacks from before still serve
    acm._certificates[arn] = certificate
    with capture(execute=True):
        pipeline_retry(pipeline=pipeline)
    assert records(pipeline)[ingestion].state == "UPDATE_COMPLETE"
    assert params(ingestion)["ACMCertificateArn"] == arn
    assert pipeline_state(pipeline=pipeline).status == "Active"

    # Delete: every stack, in reverse order, then the pipeline.
    with capture(execute=True):
        pipeline_services.pipeline_delete_request(pipeline=pipeline)
    assert live_stacks() == {}
    assert not type(pipeline).objects.unscoped().filter(pk=pipeline.pk).exists()


def account_id() -> str:
    return "123456789012"


def test_retry_creates_a_stack_deleted_outside_and_a_reapply_resets_drift(
    cast, account, network, save, django_capture_on_commit_callbacks
):
    from django.utils import timezone

    from provisioning.aws import refresh
    from provisioning.services import pipeline_retry

    pipeline = save(cast.project_a, moto_spec(account, network)).pipeline
    registry, metrics, ingestion = (s.format(pipeline.pipeline_id) for s in STACKS)
    # Drift was detected a moment ago (moto has no drift detection): the refresh only looks at the stacks.
    PipelineResource.objects.unscoped().filter(pipeline=pipeline).update(drift_checked=timezone.now())
    cfn().update_termination_protection(StackName=ingestion, EnableTerminationProtection=False)
    cfn().delete_stack(StackName=ingestion)  # someone, in the console
    refresh.account_refresh(account=account, log=lambda *a, **k: None)
    assert records(pipeline)[ingestion].drift == "DELETED"
    assert pipeline_state(pipeline=pipeline).status == "Warning"

    with django_capture_on_commit_callbacks(execute=True):
        pipeline_retry(pipeline=pipeline)
    assert live_stacks() == {
        registry: "CREATE_COMPLETE",
        metrics: "CREATE_COMPLETE",
        ingestion: "CREATE_COMPLETE",
    }
    again = records(pipeline)[ingestion]
    assert (again.state, again.drift, again.drift_checked) == ("CREATE_COMPLETE", "NOT_CHECKED", None)
    assert again.outputs["StackId"] == cfn().describe_stacks(StackName=ingestion)["Stacks"][0]["StackId"]
    assert pipeline_state(pipeline=pipeline).status == "Active"

    # A stack found drifted and then changed by a new version is looked at afresh; the one not changed keeps
    # what the refresh found.
    PipelineResource.objects.unscoped().filter(pipeline=pipeline).update(
        drift="DRIFTED", drift_reason="Drifted.", drift_checked=timezone.now()
    )
    spec = moto_spec(account, network)
    spec["ingestion"]["server_max"] = 6
    save(cast.project_a, spec)
    after = records(pipeline)
    assert (after[ingestion].drift, after[ingestion].drift_reason, after[ingestion].drift_checked) == (
        "NOT_CHECKED",
        "",
        None,
    )
    assert after[metrics].drift == "DRIFTED" and after[metrics].drift_checked is not None


def test_deleting_a_project_deletes_its_stacks_then_the_project(
    cast, account, network, save, api, login, django_capture_on_commit_callbacks
):
    """The project's delete (202) starts its pipeline's: every stack is deleted (termination protection
    turned off first), then the pipeline, the project and its apps go. Another organization's admin gets a
    404 and a reader a 403, and neither starts anything."""
    from pipelines.models import Pipeline
    from projects.models import App, Project

    pipeline = save(cast.project_a, moto_spec(account, network)).pipeline
    names = [s.format(pipeline.pipeline_id) for s in STACKS]
    assert live_stacks() == {n: "CREATE_COMPLETE" for n in names}
    url = "/api/v1/organizations/org-a/projects/shop/"
    assert api(cast.carol, cast.org_b).delete(url).status_code == 404
    assert api(cast.bob, cast.org_a).delete(url).status_code == 403
    assert live_stacks() == {n: "CREATE_COMPLETE" for n in names}
    assert not Project.objects.unscoped().get(pk=cast.project_a.pk).deleting

    with django_capture_on_commit_callbacks(execute=True):
        response = api(cast.alice, cast.org_a).delete(url)
    assert response.status_code == 202, response.content
    assert response.json()["project_id"] == "shop" and response.json()["deleting"] is True
    assert live_stacks() == {}
    assert not Pipeline.objects.unscoped().filter(pk=pipeline.pk).exists()
    assert not Project.objects.unscoped().filter(pk=cast.project_a.pk).exists()
    assert not App.objects.unscoped().filter(project_id=cast.project_a.pk).exists()
    assert Project.objects.unscoped().filter(pk=cast.project_b.pk).exists()
    assert api(cast.alice, cast.org_a).get(url).status_code == 404


def test_two_organizations_with_the_same_project_id_in_one_account_and_region(
    cast, account, network, save, django_capture_on_commit_callbacks
):
    """Project ids are unique only within an organization: org A's and org B's projects `shop`, in one moto
    account and region, get stacks, an alarm topic and a dashboard each (named by the pipeline), their own
    addresses subscribed to their own topic once the Metrics stack is created (the template subscribes no
    one), and the refresh gives each pipeline its own alarms."""
    from portal.models.aws import AwsAccount
    from provisioning.aws import notifications, refresh
    from provisioning.aws.common import alarm_topic_name

    assert cast.project_a.project_id == cast.project_b.project_id == "shop"
    account_b = AwsAccount.objects.unscoped().create(
        organization=cast.org_b, name="Globex", role_arn=ROLE_ARN, region=REGION
    )
    a = save(cast.project_a, moto_spec(account, network)).pipeline
    b = save(cast.project_b, moto_spec(account_b, network)).pipeline
    assert pipeline_state(pipeline=a).status == pipeline_state(pipeline=b).status == "Active"
    assert len(live_stacks()) == 6 and set(live_stacks().values()) == {"CREATE_COMPLETE"}

    sns = boto3.client("sns", region_name=REGION)
    topics = {t["TopicArn"].rsplit(":", 1)[-1] for t in sns.list_topics()["Topics"]}
    assert topics == {alarm_topic_name(project_id="shop", pipeline_id=p.pipeline_id) for p in (a, b)}
    for pipeline, email in ((a, "ops@example.com"), (b, "ops@globex.example")):
        listed = sns.list_subscriptions_by_topic(TopicArn=notifications.topic_arn(pipeline))["Subscriptions"]
        assert [s["Endpoint"] for s in listed] == [email]  # subscribed by the sync, once, on its own topic
    metrics = cfn().get_template(StackName=STACKS[1].format(a.pipeline_id))["TemplateBody"]
    assert "AWS::SNS::Subscription" not in json.dumps(metrics)
    boards = boto3.client("cloudwatch", region_name=REGION).list_dashboards()["DashboardEntries"]
    assert sorted(d["DashboardName"] for d in boards) == sorted(
        f"Clickstream-shop-{p.pipeline_id}-Dashboard-{REGION}" for p in (a, b)
    )

    # The Ingestion stacks' alarms are named `Clickstream|shop <alarm>_<stack short id>` in both (put here:
    # moto's CloudFormation does not make `AWS::CloudWatch::Alarm`): each pipeline gets its own stack's.
    PipelineResource.objects.unscoped().update(drift="IN_SYNC", drift_checked=timezone.now())
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    for pipeline in (a, b):
        stack_id = records(pipeline)[STACKS[2].format(pipeline.pipeline_id)].outputs["StackId"]
        short = stack_id.split("/")[2].split("-")[0]
        cloudwatch.put_metric_alarm(
            AlarmName=f"Clickstream|shop ECS Pending Task Count_{short}", MetricName="PendingTaskCount",
            Namespace="ECS/ContainerInsights", Statistic="Average", Period=300, EvaluationPeriods=2,
            Threshold=1, ComparisonOperator="GreaterThanOrEqualToThreshold",
        )  # fmt: skip
    for acct in (account, account_b):
        refresh.account_refresh(account=acct, log=lambda *args, **kwargs: None)
    for pipeline in (a, b):
        stack_id = records(pipeline)[STACKS[2].format(pipeline.pipeline_id)].outputs["StackId"]
        names = list(pipeline.alarms.values_list("name", flat=True))
        assert names == [f"Clickstream|shop ECS Pending Task Count_{stack_id.split('/')[2].split('-')[0]}"]


def test_the_upgrade_button_api_and_admin_action_with_roles_and_tenancy(
    cast, account, network, save, api, login, staff_client, django_capture_on_commit_callbacks, monkeypatch
):
    """A new release's templates: the pipeline page offers "Upgrade" (from → to) to those who may manage the
    project, the API's upgrade endpoint runs it (a reader 403, another organization 404), once (then 400),
    and admin has it as an action."""
    from django.urls import reverse

    pipeline = save(cast.project_a, moto_spec(account, network)).pipeline
    kwargs = {"org": cast.org_a.slug, "project": cast.project_a.project_id}
    status_url = reverse("provisioning:status", kwargs=kwargs)
    assert 'id="upgrade-pipeline"' not in login(cast.alice).get(status_url).content.decode()
    monkeypatch.setattr("provisioning.aws.TEMPLATE_VERSION", "v1.3.0")
    page = login(cast.alice).get(status_url).content.decode()
    assert "Templates v1.2.0 → v1.3.0 (3 stacks)" in page and "Upgrade to v1.3.0" in page
    assert api(cast.alice, cast.org_a).get(reverse("api:pipeline-status", kwargs=kwargs)).json()["upgrade"] == {
        "from_version": "v1.2.0", "to_version": "v1.3.0", "stacks": [f"Clickstream-{k}-{pipeline.pipeline_id}"
        for k in ("ServiceCatalogAppRegistry", "Metrics", "Ingestion")]}  # fmt: skip

    url = reverse("api:pipeline-upgrade", kwargs=kwargs)
    assert api(cast.bob, cast.org_a).post(url).status_code == 403
    assert api(cast.carol, cast.org_b).post(url).status_code == 404
    assert login(cast.bob).post(reverse("provisioning:upgrade", kwargs=kwargs)).status_code == 403
    assert login(cast.carol).post(reverse("provisioning:upgrade", kwargs=kwargs)).status_code == 404
    assert set(live_stacks().values()) == {"CREATE_COMPLETE"}  # none of them upgraded anything
    with django_capture_on_commit_callbacks(execute=True):
        response = api(cast.alice, cast.org_a).post(url)
    assert response.status_code == 202 and response.json()["action"] == "Upgrade"
    assert set(live_stacks().values()) == {"UPDATE_COMPLETE"}
    assert pipeline_state(pipeline=pipeline).status == "Active"
    again = api(cast.alice, cast.org_a).post(url)
    assert again.status_code == 400 and "already the latest version" in again.json()["detail"]

    # Admin: the action upgrades, and says why when there is nothing to upgrade.
    monkeypatch.setattr("provisioning.aws.TEMPLATE_VERSION", "v1.4.0")
    changelist, staff = reverse("admin:provisioning_deployment_changelist"), login(cast.alice)  # a superuser
    with django_capture_on_commit_callbacks(execute=True):
        staff.post(changelist, {"action": "upgrade", "_selected_action": [pipeline.deployment.pk]})
    assert {r.template_version for r in records(pipeline).values()} == {"v1.4.0"}
    answer = staff.post(changelist, {"action": "upgrade", "_selected_action": [pipeline.deployment.pk]},
                        follow=True)  # fmt: skip
    assert "already the latest version" in answer.content.decode()
