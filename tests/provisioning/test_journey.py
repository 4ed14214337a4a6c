"""The local journey against a real collector process (`python -m ingestion serve`) over HTTP: create a
local pipeline through the API, add an app through the UI (its events are accepted within seconds), see it
on the app page, remove it (refused), update, delete — and a collector that was down while the allow-list
changed picks the change up when it comes back."""

from __future__ import annotations

import json

import httpx
import pytest
from django.urls import reverse

from projects.models import App
from provisioning.tasks import first_events_scan
from tests.ingestion.conftest import CollectorProcess, wait_until
from tests.ingestion.helpers import web_body
from tests.pipelines.specs import local_spec

pytestmark = pytest.mark.django_db


def collector_for(machine, tmp_path) -> CollectorProcess:  # type: ignore[no-untyped-def]
    args = ["--sink", f"file://{machine.lake}", "--allowlist-file", str(machine.allowlist_file),
            "--batch-seconds", "1"]  # fmt: skip
    return CollectorProcess(args, tmp_path)


def send(collector: CollectorProcess, app_id: str) -> int:
    return httpx.post(
        f"{collector.url}/collect?appId={app_id}&platform=Web", content=web_body(), timeout=10
    ).status_code


def accepted_within_seconds(collector: CollectorProcess, app_id: str) -> None:
    wait_until(lambda: send(collector, app_id) == 200, timeout=5, interval=0.2)


def test_local_journey_through_the_api_the_ui_and_the_collector(cast, machine, tmp_path, api, login,
                                                                 django_capture_on_commit_callbacks):  # fmt: skip
    collector = collector_for(machine, tmp_path).start()
    try:
        assert send(collector, "web") == 403  # no pipeline yet: nothing is allowed
        pipeline_url = reverse("api:pipeline", kwargs={"org": "org-a", "project": "shop"})
        status_url = reverse("api:pipeline-status", kwargs={"org": "org-a", "project": "shop"})
        alice = api(cast.alice, cast.org_a)
        with django_capture_on_commit_callbacks(execute=True):
            assert (
                alice.put(pipeline_url, {"spec": local_spec(), "version": 0}, format="json").status_code
                == 201
            )
        assert alice.get(status_url).json()["status"] == "Active"
        accepted_within_seconds(collector, "web")

        ui = login(cast.alice)
        add = reverse("projects:app_add", kwargs={"org": "org-a", "project": "shop"})
        with django_capture_on_commit_callbacks(execute=True):
            response = ui.post(add, {"app_id": "android", "name": "Android", "timezone": "Europe/Paris",
                                     "platforms": ["Android"]})  # fmt: skip
        assert response.status_code in (200, 302) and App.objects.unscoped().filter(app_id="android").exists()
        accepted_within_seconds(collector, "android")

        app_page = reverse("projects:app", kwargs={"org": "org-a", "project": "shop", "app": "android"})
        assert "http://127.0.0.1:8001/collect" in ui.get(app_page).content.decode()  # the real endpoint
        traffic_url = reverse(
            "provisioning:app_traffic", kwargs={"org": "org-a", "project": "shop", "app": "android"}
        )
        wait_until(lambda: "1 request" in ui.get(traffic_url).content.decode(), timeout=10, interval=0.3)
        assert "Nothing yet" not in ui.get(traffic_url).content.decode()
        first_events_scan()
        android = App.objects.unscoped().get(app_id="android")
        assert android.data_since is not None  # …which fixes its time zone
        assert App.objects.unscoped().get(project=cast.project_a, app_id="web").data_since is not None

        remove = reverse("projects:app_delete", kwargs={"org": "org-a", "project": "shop", "app": "android"})
        with django_capture_on_commit_callbacks(execute=True):
            ui.post(remove)
        wait_until(lambda: send(collector, "android") == 403, timeout=5, interval=0.2)
        assert send(collector, "web") == 200

        spec = local_spec()
        spec["processing"]["schedule"] = "rate(15 minutes)"
        with django_capture_on_commit_callbacks(execute=True):
            assert alice.put(pipeline_url, {"spec": spec, "version": 1}, format="json").status_code == 200
        body = alice.get(status_url).json()
        assert body["status"] == "Active" and body["action"] == "Update"
        assert {r["name"]: r["state"] for r in body["resources"]}["processing"] == "UPDATE_COMPLETE"

        with django_capture_on_commit_callbacks(execute=True):
            assert alice.delete(pipeline_url).status_code == 202
        wait_until(lambda: send(collector, "web") == 403, timeout=5, interval=0.2)
        assert alice.get(status_url).status_code == 404  # the pipeline is gone
    finally:
        collector.stop()


def test_a_collector_down_while_the_allow_list_changes_picks_it_up(cast, machine, tmp_path, save,
                                                                   django_capture_on_commit_callbacks):  # fmt: skip
    collector = collector_for(machine, tmp_path).start()
    save(cast.project_a, local_spec())
    accepted_within_seconds(collector, "web")
    collector.stop()
    with django_capture_on_commit_callbacks(execute=True):
        App.objects.unscoped().create(
            organization=cast.org_a, project=cast.project_a, app_id="ios", name="iOS"
        )
        cast.app_a.delete()
    assert json.loads(machine.allowlist_file.read_text())["apps"].keys() == {"ios"}
    collector.process = None
    collector.start()
    try:
        assert send(collector, "ios") == 200 and send(collector, "web") == 403
    finally:
        collector.stop()
