"""The templates of an AWS pipeline, previewed and downloaded from the pipeline page and the API (issue 14
§4): every stack with its dependencies, each template and its parameters, the files `manage.py
pipeline_templates` writes; a local pipeline has none (409), an unknown stack is a 404."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from django.urls import reverse

from tests.pipelines.specs import local_spec
from tests.test_tenancy_walk import aws_pipeline_project

pytestmark = pytest.mark.django_db

KINDS = ["ServiceCatalogAppRegistry", "Metrics", "Ingestion", "DataProcessing", "DataModelingAthena",
         "DataModelingRedshift", "Reporting"]  # fmt: skip


@pytest.fixture
def store(cast):  # type: ignore[no-untyped-def]
    return aws_pipeline_project(cast)


def api_url(project, stack: str = "") -> str:  # type: ignore[no-untyped-def]
    kwargs = {"org": project.organization.slug, "project": project.project_id}
    if stack:
        return reverse("api:pipeline-template-detail", kwargs={**kwargs, "stack": stack})
    return reverse("api:pipeline-template-list", kwargs=kwargs)


def ui_url(project, stack: str = "") -> str:  # type: ignore[no-untyped-def]
    kwargs = {"org": project.organization.slug, "project": project.project_id}
    if stack:
        return reverse("provisioning:template_download", kwargs={**kwargs, "stack": stack})
    return reverse("provisioning:templates", kwargs=kwargs)


def test_the_api_lists_every_stack_in_the_order_it_is_created(cast, store, api):
    body = (
        api(cast.ann, cast.org_a, read_only=True).get(api_url(store)).json()
    )  # an analyst reads projects: she may read them
    assert [s["stack"] for s in body] == KINDS
    by_kind = {s["stack"]: s for s in body}
    assert by_kind["Reporting"]["depends_on"] == ["DataModelingRedshift"]
    assert by_kind["Ingestion"]["depends_on"] == ["ServiceCatalogAppRegistry"]
    assert by_kind["Ingestion"]["name"].startswith("Clickstream-Ingestion-")
    assert by_kind["Ingestion"]["parameter_count"] > 20 and by_kind["Ingestion"]["resource_count"] > 10
    assert by_kind["Ingestion"]["links"]["detail"].endswith(api_url(store, "Ingestion"))


def test_a_stack_has_its_template_and_parameters(cast, store, api):
    body = api(cast.ann, cast.org_a).get(api_url(store, "DataModelingAthena")).json()
    assert body["template"]["AWSTemplateFormatVersion"] == "2010-09-09"
    rows = {p["key"]: p for p in body["parameters"]}
    assert set(rows) == set(body["template"]["Parameters"])
    database = rows["AthenaDatabase"]
    assert database["sent"] and database["output_of"].startswith("Clickstream-DataProcessing-")
    assert database["value"] == f"#.{database['output_of']}.GlueDatabase"
    ingestion = api(cast.ann, cast.org_a).get(api_url(store, "Ingestion")).json()
    rows = {p["key"]: p for p in ingestion["parameters"]}
    assert rows["AppIds"] == {**rows["AppIds"], "value": "storeweb", "sent": True, "output_of": ""}
    assert rows["Protocol"]["allowed_values"] == ["HTTPS"]  # the template is built for the spec's protocol


def test_the_api_downloads_the_files_the_command_writes(cast, store, api, tmp_path):
    from django.core.management import call_command

    call_command("pipeline_templates", "org-a", "store", "--out", str(tmp_path))
    client = api(cast.ann, cast.org_a)
    name = client.get(api_url(store, "Ingestion")).json()["name"]
    template = client.get(api_url(store, "Ingestion"), {"download": "template"})
    assert template["Content-Disposition"] == f'attachment; filename="{name}.json"'
    assert template.content.decode() == (tmp_path / f"{name}.json").read_text()
    parameters = client.get(api_url(store, "Ingestion"), {"download": "parameters"})
    assert parameters["Content-Disposition"] == f'attachment; filename="{name}.parameters.json"'
    assert parameters.content.decode() == (tmp_path / f"{name}.parameters.json").read_text()
    assert {"ParameterKey": "AppIds", "ParameterValue": "storeweb"} in json.loads(parameters.content)
    bad = client.get(api_url(store, "Ingestion"), {"download": "zip"})
    assert bad.status_code == 400 and "template or parameters" in bad.json()["download"][0]


def test_unknown_stack_is_404_and_a_local_pipeline_is_409(cast, store, api, save, machine):
    client = api(cast.alice, cast.org_a)
    response = client.get(api_url(store, "Streaming"))
    assert response.status_code == 404 and "no Streaming stack" in response.json()["detail"]
    assert "Ingestion" in response.json()["detail"]  # it says which stacks there are
    save(cast.project_a, local_spec())
    for url in (api_url(cast.project_a), api_url(cast.project_a, "Ingestion")):
        response = client.get(url)
        assert response.status_code == 409 and "only for AWS pipelines" in response.json()["detail"]
    other = reverse("api:pipeline-template-list", kwargs={"org": "org-a", "project": "nope"})
    assert client.get(other).status_code == 404


def test_another_organization_cannot_see_the_templates(cast, store, api, login):
    assert api(cast.carol, cast.org_b).get(api_url(store)).status_code == 404
    outsider = reverse("api:pipeline-template-list", kwargs={"org": "org-a", "project": "store"})
    assert api(cast.carol, cast.org_b).get(outsider).status_code == 404
    assert login(cast.carol).get(ui_url(store)).status_code == 404
    assert login(cast.carol).get(ui_url(store, "Ingestion")).status_code == 404


def test_the_pipeline_page_links_to_the_templates_page(cast, store, login, save, machine):
    client = login(cast.ann)
    detail = client.get(reverse("pipelines:pipeline", kwargs={"org": "org-a", "project": "store"}))
    assert ui_url(store) in detail.content.decode()
    page = client.get(ui_url(store)).content.decode()
    for kind in KINDS:
        assert f'id="stack-{kind}"' in page
        assert ui_url(store, kind) in page
    assert 'id="param-Ingestion-AppIds"' in page and "storeweb" in page
    assert "&quot;AWSTemplateFormatVersion&quot;: &quot;2010-09-09&quot;" in page  # the pretty template
    assert "(an output of Clickstream-DataProcessing-" in page
    save(cast.project_a, local_spec())
    local = client.get(reverse("pipelines:pipeline", kwargs={"org": "org-a", "project": "shop"}))
    assert ui_url(cast.project_a) not in local.content.decode()  # no templates for a local pipeline
    response = client.get(ui_url(cast.project_a))
    assert response.status_code == 409 and "only for AWS pipelines" in response.content.decode()


def test_the_page_downloads_each_file_and_a_zip_of_all(cast, store, login, tmp_path):
    from django.core.management import call_command

    call_command("pipeline_templates", "org-a", "store", "--out", str(tmp_path))
    client = login(cast.ann)
    written = {p.name: p.read_text() for p in tmp_path.iterdir()}
    archive = client.get(ui_url(store), {"download": "zip"})
    assert archive["Content-Type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(archive.content)) as z:
        assert {n: z.read(n).decode() for n in z.namelist()} == written
    name = next(n for n in written if n.startswith("Clickstream-Reporting-") and n.count(".") == 1)
    response = client.get(ui_url(store, "Reporting"))
    assert response["Content-Disposition"] == f'attachment; filename="{name}"'
    assert response.content.decode() == written[name]
    parameters = client.get(ui_url(store, "Reporting"), {"file": "parameters"})
    assert parameters.content.decode() == written[name.replace(".json", ".parameters.json")]
    assert client.get(ui_url(store, "Reporting"), {"file": "other"}).status_code == 400
    assert client.get(ui_url(store, "Nope")).status_code == 404
