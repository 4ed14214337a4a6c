"""The wizard (the form door): the same rules on the same fields, the review's plan, conflicts, fixed fields."""

from __future__ import annotations

import json
import re

import pytest

from pipelines.forms import PipelineForm
from pipelines.models import Pipeline
from tests.pipelines.specs import local_spec, moto_world
from tests.pipelines.test_spec import RULES

URL = "/o/org-a/projects/shop/pipeline/"


@pytest.fixture(scope="module", autouse=True)
def world(moto_endpoint):
    """The review checks aws specs against the account: moto_server answers, with these resources."""
    return moto_world()


def form_data(spec, **extra):
    data = {}
    for name, value in PipelineForm.initial_from(spec).items():
        if isinstance(value, bool):
            if value:
                data[name] = "on"
        elif isinstance(value, list):
            data[name] = ",".join(map(str, value))
        elif value is not None:
            data[name] = str(value)
    data["version"] = "0"
    return {**data, **extra}


def review(client, spec, **extra):
    return client.post(URL + "edit/", form_data(spec, **extra))


def test_local_is_preselected_without_an_aws_account(login, cast):
    cast.aws_account.delete()
    page = login(cast.alice).get(URL + "edit/").content.decode()
    assert re.search(r'value="local"[^>]*checked', page)


def test_aws_is_preselected_with_an_account(login, cast):
    page = login(cast.alice).get(URL + "edit/").content.decode()
    assert re.search(r'value="aws"[^>]*checked', page) and "Production (123456789012)" in page


def test_local_pipeline_review_lists_steps_then_save_creates_version_1(login, cast):
    client = login(cast.alice)
    response = review(client, local_spec())
    page = response.content.decode()
    assert response.status_code == 200, page[:3000]
    for step in ("lake", "allowlist", "processing", "warehouse"):
        assert f'data-resource="{step}"' in page
    assert "var/lake/clickstream/shop" in page
    spec_json = re.search(r'name="spec_json" value="([^"]+)"', page).group(1).replace("&quot;", '"')
    saved = client.post(URL + "edit/", {"spec_json": spec_json, "version": "0", "action": "save"})
    assert saved.status_code == 302
    pipeline = Pipeline.objects.for_organization(cast.org_a).get()
    assert pipeline.spec == json.loads(spec_json) and pipeline.current_version.author == cast.alice


def test_aws_review_names_the_stacks_with_their_parameters(login, cast, world):
    response = review(login(cast.alice), world["spec"]())
    page = response.content.decode()
    assert response.status_code == 200, re.findall(r"invalid-feedback[^>]*>([^<]+)", page)
    assert (
        'data-resource="Clickstream-Ingestion-' in page
        and 'data-resource="Clickstream-DataProcessing-' in page
    )
    assert world["subnets"]["private-a"] in page and "rate(1 hour)" in page


# The form cannot say these (a select offers only valid choices; an aws form has no lake folder).
FORM_WORDS = {"aws.region": "Select a valid choice", "processing.transformer": "Select a valid choice"}
# One rule or more per step and kind of field (the mapping from spec paths to fields is generic; the API
# test runs every rule, and each review here also runs the account checks, which cost a second).
FORM_SAMPLE = {"aws.region", "network.private_subnet_ids", "bucket.name", "ingestion.server_max",
               "ingestion.http_acknowledged", "ingestion.sink.kinesis.shard_count", "ingestion.sink.s3.buffer_interval_seconds",
               "processing.schedule", "processing.transformer", "tags.0.key", "modeling.redshift.new_serverless.base_rpu",
               "modeling.redshift.provisioned.db_user", "reporting", "streaming", "streaming.app_ids"}  # fmt: skip
FORM_RULES = [r for i, r in enumerate(RULES) if r[1] in FORM_SAMPLE and r[1] not in {q[1] for q in RULES[:i]}]


@pytest.mark.parametrize(("changes", "path", "words"), FORM_RULES, ids=[r[1] for r in FORM_RULES])
def test_each_rule_shows_on_its_field_in_the_form(login, cast, world, changes, path, words):
    response = review(login(cast.alice), world["spec"](**changes))
    page = response.content.decode().replace("&#x27;", "'")
    assert response.status_code == 400
    words = FORM_WORDS.get(path, words)
    assert re.search(r'invalid-feedback d-block" data-field="\w+">[^<]*' + re.escape(words), page), path


def test_review_of_a_live_pipeline_is_a_plan(login, cast, world):
    client = login(cast.alice)
    from pipelines import services

    services.pipeline_save(
        project=cast.project_a, spec=world["spec"](), author=cast.alice, expected_version=0
    )
    page = review(client, world["spec"](ingestion__server_max=9), version="1").content.decode()
    assert "<code>ServerMax</code>: 4 → <strong>9</strong>" in page
    assert page.count("left alone") >= 3


def test_a_save_after_someone_elses_is_refused_with_a_form_error(login, cast):
    from pipelines import services

    client = login(cast.alice)
    services.pipeline_save(project=cast.project_a, spec=local_spec(), author=cast.alice, expected_version=0)
    services.pipeline_save(project=cast.project_a, spec=local_spec(processing__schedule="rate(2 hours)"), author=cast.olivia,
                           expected_version=1)  # fmt: skip
    mine = json.dumps(local_spec(processing__schedule="rate(3 hours)"))
    response = client.post(URL + "edit/", {"spec_json": mine, "version": "1", "action": "save"})
    assert response.status_code == 409
    page = response.content.decode()
    assert "Someone else saved this pipeline first (it is now at version 2)" in page
    assert 'value="rate(3 hours)"' in page  # the edit is kept
    assert (
        Pipeline.objects.for_organization(cast.org_a).get().spec["processing"]["schedule"] == "rate(2 hours)"
    )


def test_fixed_fields_are_disabled_and_a_tampered_change_is_refused(login, cast, world):
    from pipelines import services

    client = login(cast.alice)
    services.pipeline_save(
        project=cast.project_a, spec=world["spec"](), author=cast.alice, expected_version=0
    )
    page = client.get(URL + "edit/").content.decode()
    assert re.search(r'name="vpc_id"[^>]*disabled', page)
    response = review(
        client, world["spec"](network__vpc_id="vpc-0ff"), version="1"
    )  # disabled: the live value stays
    assert response.status_code == 200 and "vpc-0ff" not in response.content.decode()
    tampered = json.dumps(world["spec"](network__vpc_id="vpc-0ff"))
    response = client.post(URL + "edit/", {"spec_json": tampered, "version": "1", "action": "save"})
    assert (
        response.status_code == 400
        and "network.vpc_id: Cannot change after creation" in response.content.decode()
    )


def test_reader_and_outsider_cannot_open_the_wizard(login, cast):
    assert login(cast.ann).get(URL + "edit/").status_code == 403
    assert login(cast.carol).get(URL + "edit/").status_code == 404


def test_history_shows_who_changed_what(login, cast):
    from pipelines import services

    services.pipeline_save(project=cast.project_a, spec=local_spec(), author=cast.alice, expected_version=0)
    services.pipeline_save(project=cast.project_a, spec=local_spec(processing__schedule="rate(2 hours)"), author=cast.olivia,
                           expected_version=1)  # fmt: skip
    page = login(cast.ann).get(URL + "history/").content.decode()
    assert "olivia@example.com" in page and "<code>processing.schedule</code>" in page
    assert "rate(1 hour)" in page and "rate(2 hours)" in page


def test_plugins_page_lists_built_ins(login, cast):
    page = login(cast.ann).get("/o/org-a/plugins/").content.decode()
    for name in ("clickstream", "gtm", "sensors", "traffic", "ua", "geo"):
        assert f"<code>{name}</code>" in page
    assert "BUILT-IN-4" in page
