"""`/api/v1/health` and the portal's health page: each part's real state, degraded when a part is down, and
nothing of any organization in what the open endpoint says."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from portal.choices import JobStatus
from portal.models import Job
from tests.ingestion.conftest import CollectorProcess, free_port

PARTS = ["database", "queue", "collector", "processing", "warehouse"]


@pytest.fixture
def collector(tmp_path: Path, settings) -> Iterator[CollectorProcess]:  # type: ignore[no-untyped-def]
    started = CollectorProcess(["--sink", f"file://{tmp_path}/lake"], tmp_path).start()
    settings.CLICKSTREAM_INGESTION_ENDPOINT = f"{started.url}/collect"
    settings.CLICKSTREAM_COLLECTOR_HEALTH_URL = ""
    yield started
    started.stop()


@pytest.fixture
def lake(tmp_path: Path, settings) -> Path:  # type: ignore[no-untyped-def]
    settings.CLICKSTREAM_LAKE_DIR = tmp_path / "var" / "lake"
    settings.CLICKSTREAM_LAKE_DIR.mkdir(parents=True)
    return settings.CLICKSTREAM_LAKE_DIR


def health() -> dict:
    response = APIClient().get("/api/v1/health")
    assert response.status_code == 200
    return response.json()


@pytest.mark.django_db
def test_anyone_reads_every_part_with_a_running_collector(collector, lake):
    body = health()
    assert list(body["parts"]) == PARTS
    assert all(set(part) == {"status", "detail"} for part in body["parts"].values())
    assert body["parts"]["database"]["status"] == "ok"
    assert body["parts"]["collector"] == {"status": "ok", "detail": "the collector answers; sink file"}
    assert body["parts"]["processing"] == {"status": "ok", "detail": "no processing run yet"}
    assert body["parts"]["warehouse"]["status"] == "ok"
    # No worker cluster runs in the tests: the queue has no heartbeat, so the whole is degraded.
    assert body["parts"]["queue"]["status"] == "degraded"
    assert "qcluster" in body["parts"]["queue"]["detail"]
    assert body["status"] == "degraded"


@pytest.mark.django_db
def test_a_collector_that_does_not_answer_is_degraded(settings, lake):
    settings.CLICKSTREAM_COLLECTOR_HEALTH_URL = f"http://127.0.0.1:{free_port()}/health"
    body = health()
    assert body["parts"]["collector"] == {"status": "degraded", "detail": "the collector does not answer"}
    assert body["status"] == "degraded"


@pytest.mark.django_db
def test_a_stale_token_does_not_stop_a_probe(lake):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
    assert client.get("/api/v1/health").status_code == 200


@pytest.mark.django_db
def test_a_failed_run_is_degraded_and_the_open_answer_names_no_tenant(cast, lake, staff_client):
    Job.objects.unscoped().create(
        organization=cast.org_b, kind="etl.local", name="Data processing — carols-secret-shop",
        status=JobStatus.FAILED, error="carols-secret-shop: disk full", finished=timezone.now(),
    )  # fmt: skip
    response = APIClient().get("/api/v1/health")
    assert response.json()["parts"]["processing"] == {
        "status": "degraded",
        "detail": "the latest run failed just now",
    }
    text = response.content.decode()
    assert cast.org_b.slug not in text and "secret" not in text
    # Staff see which organization's run failed, and why, on the portal's page.
    page = staff_client.get("/system/health/").content.decode()
    assert cast.org_b.slug in page and "disk full" in page


@pytest.mark.django_db
def test_a_member_sees_the_page_without_the_operators_details(cast, lake, client):
    Job.objects.unscoped().create(
        organization=cast.org_b, kind="etl.local", name="run", status=JobStatus.FAILED,
        error="carols-secret-shop: disk full", finished=timezone.now(),
    )  # fmt: skip
    client.force_login(cast.bob)
    page = client.get("/system/health/").content.decode()
    assert 'id="health-processing"' in page and "the latest run failed" in page
    assert "secret" not in page and cast.org_b.slug not in page


@pytest.mark.django_db
def test_a_warehouse_file_that_does_not_open_is_degraded(lake):
    warehouses = lake.parent / "warehouse"
    warehouses.mkdir()
    with duckdb.connect(str(warehouses / "good.duckdb")) as con:
        con.execute("CREATE TABLE _load AS SELECT 'v1' AS version")
    assert health()["parts"]["warehouse"]["detail"].endswith("answers; 1 loaded warehouse")
    (warehouses / "broken.duckdb").write_bytes(b"not a database" * 100)
    assert health()["parts"]["warehouse"] == {
        "status": "degraded",
        "detail": "1 of 2 warehouse files do not open",
    }
