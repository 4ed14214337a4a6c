"""Every UI view and API endpoint, discovered from the URL configuration, called as each kind of caller.

anonymous → sign-in redirect (UI) or 401 (API); a member of another organization → 404; a member without the
declared read permission → 403, and for every write method (UI POST, API POST/PUT/PATCH/DELETE) a member
without the declared write permission → 403. New views are covered without touching this file: add a value
for any new URL parameter to `url_kwargs`; every view must declare its permissions anyway.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.test import APIClient

from portal import services
from portal.models import AuditLogEntry, AwsAccount, GroupMapping, Invitation, Job, Membership

OUR_APPS = ("portal.", "projects.", "pipelines.", "provisioning.", "analytics.", "etl.")
PUBLIC = {"health"}


@dataclass(frozen=True)
class Route:
    name: str
    params: tuple[str, ...]
    view: Any
    is_api: bool

    @property
    def view_class(self) -> Any:
        return getattr(self.view, "view_class", None) or getattr(self.view, "cls", None)

    @property
    def actions(self) -> dict[str, str]:
        return getattr(self.view, "actions", None) or {}

    def permission(self, method: str) -> str | None:
        action = self.actions.get(method, "")
        declared = getattr(self.view_class, "action_permissions", {}).get(action)
        return declared or getattr(
            self.view_class, "read_permission" if method == "get" else "write_permission"
        )

    @property
    def first_method(self) -> str:
        """GET, or for an API action that only writes (POST …/test/), the method it takes."""
        return "get" if not self.is_api or "get" in self.actions else self.write_methods[0]

    @property
    def write_methods(self) -> list[str]:
        if self.is_api:
            return [m for m in ("post", "put", "patch", "delete") if m in self.actions]
        return ["post"] if self.view_class.can_write() else []


def _walk(resolver: URLResolver, namespace: str = "", params: tuple[str, ...] = ()) -> Iterator[Route]:
    for entry in resolver.url_patterns:
        groups = tuple(entry.pattern.regex.groupindex)
        if isinstance(entry, URLResolver):
            ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _walk(entry, ns, params + groups)
        elif isinstance(entry, URLPattern) and entry.name:
            module = getattr(entry.callback, "__module__", "")
            if module.startswith(OUR_APPS) and entry.name not in PUBLIC:
                yield Route(
                    f"{namespace}{entry.name}", params + groups, entry.callback, namespace.startswith("api:")
                )


ROUTES = sorted({r.name: r for r in _walk(get_resolver())}.values(), key=lambda r: r.name)


def test_routes_are_discovered():
    names = {r.name for r in ROUTES}
    assert {"projects:project_list", "projects:app", "api:project-list", "api:app-detail", "members"} <= names
    assert len(ROUTES) > 25


@pytest.fixture
def world(cast):
    from moto import mock_aws

    from portal.models.aws import AwsAccount

    with mock_aws():  # look-up endpoints call AWS: moto answers them
        cast.aws_account = AwsAccount.objects.unscoped().create(
            organization=cast.org_a, name="walk", role_arn="arn:aws:iam::123456789012:role/Walk"
        )
        yield _world(cast)


def _world(cast):
    invitation = services.invitation_create(
        organization=cast.org_a,
        email="new@example.com",
        roles=["analyst"],
        invited_by=cast.alice,
        accept_url=str,
    )
    cast.invitation = invitation
    from pipelines.services import pipeline_save
    from tests.pipelines.specs import local_spec

    pipeline_save(project=cast.project_a, spec=local_spec(), author=cast.alice, expected_version=0)
    cast.aws_project = aws_pipeline_project(cast)
    return cast


def aws_pipeline_project(cast: Any) -> Any:
    """A second project of organization A whose pipeline runs on AWS, in an account connected to A: the
    template routes exist only for such a pipeline."""
    from pipelines.services import pipeline_save
    from projects.models import App, Project
    from tests.pipelines.specs import ACCOUNT, ACCOUNT_UUID, aws_spec, redshift_serverless

    AwsAccount.objects.unscoped().get_or_create(
        organization=cast.org_a, uuid=ACCOUNT_UUID,
        defaults={"name": "Production", "role_arn": f"arn:aws:iam::{ACCOUNT}:role/Portal"},
    )  # fmt: skip
    project = Project.objects.unscoped().create(
        organization=cast.org_a, project_id="store", name="Store", emails="ops@example.com"
    )
    App.objects.unscoped().create(organization=cast.org_a, project=project, app_id="storeweb", name="Web")
    spec = aws_spec(modeling={"athena": True, "redshift": redshift_serverless()},
                    reporting={"quicksight_user_arn": "", "namespace": "default"})  # fmt: skip
    pipeline_save(project=project, spec=spec, author=cast.alice, expected_version=0)
    return project


def url_kwargs(route: Route, world: Any, actor: Any) -> dict[str, Any]:
    """Values for a route's parameters, always naming objects of organization A."""
    token = None
    if "token" in route.name:
        owner = (
            actor if Membership.objects.filter(user=actor, organization=world.org_a).exists() else world.alice
        )
        token, _ = services.api_token_create(
            organization=world.org_a, user=owner, name="walk", read_only=True
        )
    by_name = {
        "awsaccount": AwsAccount.objects.unscoped()
        .get_or_create(
            organization=world.org_a,
            name="walk",
            defaults={"role_arn": "arn:aws:iam::123456789012:role/ClickstreamPortalAccess"},
        )[0]
        .uuid,
        "member": Membership.objects.get(organization=world.org_a, user=world.bob).uuid,
        "invitation": Invitation.objects.for_organization(world.org_a).get().uuid,
        "auditlog": AuditLogEntry.objects.for_organization(world.org_a).earliest("timestamp").uuid,
        "token": token.uuid if token else None,
        "job": Job.objects.unscoped()
        .get_or_create(organization=world.org_a, name="walk", defaults={"kind": "test"})[0]
        .uuid,
        "groupmapping": GroupMapping.objects.unscoped()
        .get_or_create(organization=world.org_a, group="walkers", defaults={"roles": ["analyst"]})[0]
        .uuid,
    }
    by_name |= analytics_objects(world)
    by_name |= alarm_objects(world)
    key = next((k for k in by_name if k in route.name), "")
    templates = "template" in route.name  # only an aws pipeline has templates
    values = {
        "org": world.org_a.slug,
        "project": (world.aws_project if templates else world.project_a).project_id,
        "app": world.app_a.app_id,
        "key": world.invitation.key,
        "sheet": "overview",
        "pk": by_name.get(key),
        "uuid": by_name.get(key),
        "number": 1,  # the first version of project A's pipeline (made by `world`)
        "account": world.aws_account.uuid,
        "kind": "vpcs",
        "stack": "Ingestion",
    }
    return {p: values[p] for p in route.params}


def analytics_objects(world: Any) -> dict[str, Any]:
    """One of each analytics object in organization A (the routes' names contain these keys)."""
    from analytics.models import AttributeMetadata, CustomDashboard, EventMetadata, SavedAnalysis

    org, app = world.org_a, world.app_a
    dashboard = CustomDashboard.objects.unscoped().get_or_create(organization=org, app=app, name="Walk")[0]
    analysis = SavedAnalysis.objects.unscoped().get_or_create(
        organization=org, dashboard=dashboard, title="Walk", defaults={"spec": {"type": "event"}}
    )[0]
    event = EventMetadata.objects.unscoped().get_or_create(organization=org, app=app, name="purchase")[0]
    attribute = AttributeMetadata.objects.unscoped().get_or_create(
        organization=org, app=app, kind="event_parameter", name="category"
    )[0]
    return {
        "customdashboard": dashboard.uuid,
        "savedanalysis": analysis.uuid,
        "eventmetadata": event.uuid,
        "attributemetadata": attribute.uuid,
    }


def alarm_objects(world: Any) -> dict[str, Any]:
    """An AWS pipeline in organization A (on the world's account, in moto) with an alarm and an e-mail
    waiting for confirmation, as the refresh records them."""
    from pipelines.models import Alarm, AlarmSubscription, Pipeline, PipelineVersion
    from projects.models import Project
    from tests.pipelines.specs import aws_spec

    org = world.org_a
    account = AwsAccount.objects.unscoped().filter(organization=org).order_by("pk").first()
    assert account is not None, "the world connects an AWS account to organization A"
    project = Project.objects.unscoped().get_or_create(
        organization=org, project_id="ops", defaults={"name": "Ops", "emails": "ops@example.com"}
    )[0]
    pipeline = Pipeline.objects.unscoped().filter(project=project).first()
    if pipeline is None:
        pipeline = Pipeline.objects.unscoped().create(organization=org, project=project, provider="aws")
        pipeline.current_version = PipelineVersion.objects.unscoped().create(
            organization=org, pipeline=pipeline, number=1, spec=aws_spec(aws__account=str(account.uuid))
        )
        pipeline.save()
    alarm = Alarm.objects.unscoped().get_or_create(
        organization=org, pipeline=pipeline, name="Clickstream|ops ECS Pending Task Count_1a2b3c4d",
        defaults={"region": "us-east-1", "state": "ALARM", "reason": "Threshold Crossed"},
    )[0]  # fmt: skip
    AlarmSubscription.objects.unscoped().get_or_create(
        organization=org, pipeline=pipeline, email="ops@example.com", defaults={"state": "pending"}
    )
    return {"alarm": alarm.uuid}


def call(route: Route, world: Any, actor: Any, method: str = "get", follow: bool = False) -> Any:
    url = reverse(route.name, kwargs=url_kwargs(route, world, actor or world.alice))
    client = APIClient()
    if actor is not None:
        client.force_login(actor)
    return getattr(client, method)(url, {}, format="json" if route.is_api else None, follow=follow)


def member_without(perm: str | None, world: Any) -> Any:
    if perm is None:
        return None
    for user in (world.olivia, world.ann, world.bob):
        if not Membership.objects.get(user=user, organization=world.org_a).has_perm(perm):
            return user
    return None


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.name)
@pytest.mark.django_db
def test_anonymous_is_sent_to_sign_in(route, world):
    response = call(route, world, None)
    if route.is_api:
        assert response.status_code == 401, response.content
    else:
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


ORG_ROUTES = [r for r in ROUTES if "org" in r.params]


@pytest.mark.parametrize("route", ORG_ROUTES, ids=lambda r: r.name)
@pytest.mark.django_db
def test_outsider_gets_404(route, world):
    assert call(route, world, world.carol).status_code == 404


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.name)
@pytest.mark.django_db
def test_member_with_role_gets_2xx(route, world):
    # The home page redirects to your organization.
    response = call(route, world, world.alice, route.first_method, follow=True)
    if route.name in REFUSES_EMPTY_BODY:
        # A write-only action whose body names its target: an empty one reaches the handler and is refused
        # for the missing field, past the permission checks this walk is about.
        assert response.status_code == 400 and REFUSES_EMPTY_BODY[route.name] in response.json()
        return
    assert 200 <= response.status_code < 300, response.content[:500]


REFUSES_EMPTY_BODY = {
    "api:pipeline-rollback-continue": "stack",
    # The walk's pipeline runs this release's templates: past the permission checks, nothing to upgrade.
    "api:pipeline-upgrade": "detail",
}


@pytest.mark.parametrize("route", ORG_ROUTES, ids=lambda r: r.name)
@pytest.mark.django_db
def test_member_without_role_gets_403(route, world):
    methods = list(dict.fromkeys([route.first_method, *route.write_methods]))
    checked = 0
    for method in methods:
        actor = member_without(route.permission(method), world)
        if actor is None:
            continue
        checked += 1
        assert call(route, world, actor, method).status_code == 403, (method, actor)
    if checked == 0:
        # Open to every member (e.g. your own API tokens): the member with the fewest rights gets in.
        assert 200 <= call(route, world, world.bob, route.first_method).status_code < 300


@pytest.mark.parametrize("route", [r for r in ORG_ROUTES if r.is_api], ids=lambda r: r.name)
@pytest.mark.django_db
def test_outsider_cannot_write_through_the_api(route, world):
    for method in ("post", "put", "patch", "delete"):
        if method in route.actions:
            assert call(route, world, world.carol, method).status_code == 404
