"""The stacks' functions do their jobs: under moto for S3, Kinesis, EMR Serverless, CloudWatch and Secrets
Manager; with botocore's Stubber for the Redshift Data API (moto's statements never finish); custom resources
answer a local HTTP server standing in for CloudFormation's pre-signed URL."""

from __future__ import annotations

import base64
import functools
import io
import json
import subprocess
import sys
import threading
import zipfile
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber
from moto import mock_aws

from etl import emr
from etl.lake import lake_layout
from ingestion import layout
from provisioning.aws import assets
from provisioning.aws.functions import (
    cfn,
    emr_submitter,
    kinesis_to_s3,
    redshift_load,
    redshift_schema,
    redshift_warehouse,
)
from provisioning.aws.functions import redshift_sql as sql

REGION = "us-east-1"
BUCKET = "shop-lake"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Any:
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": REGION}.items():  # fmt: skip
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        boto3.client("s3").create_bucket(Bucket=BUCKET)
        yield boto3.session.Session(region_name=REGION)


# --- Kinesis → S3 -------------------------------------------------------------------------------------------


def _kinesis_event(session: Any, records: list[bytes]) -> dict[str, Any]:
    """A Lambda event of the records as Kinesis stored them (moto), shaped as the event source mapping sends."""
    kinesis = session.client("kinesis")
    kinesis.create_stream(StreamName="events", ShardCount=1)
    for data in records:
        kinesis.put_record(StreamName="events", Data=data, PartitionKey="k")
    shard = kinesis.describe_stream(StreamName="events")["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = kinesis.get_shard_iterator(
        StreamName="events", ShardId=shard, ShardIteratorType="TRIM_HORIZON"
    )
    got = kinesis.get_records(ShardIterator=iterator["ShardIterator"])["Records"]
    return {"Records": [{"eventID": f"{shard}:{r['SequenceNumber']}", "kinesis": {
        "data": base64.b64encode(r["Data"]).decode(), "sequenceNumber": r["SequenceNumber"],
        "approximateArrivalTimestamp": r["ApproximateArrivalTimestamp"].timestamp()}} for r in got]}  # fmt: skip


def test_kinesis_records_become_raw_files_the_etl_reads(aws: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = [
        json.dumps({"appId": "web", "data": "[]", "rid": str(i), "ingest_time": 1700000000000}).encode()
        for i in range(3)
    ]
    event = _kinesis_event(aws, lines)
    monkeypatch.setenv("S3_BUCKET", BUCKET)
    monkeypatch.setenv("S3_PREFIX", "clickstream/shop/data/buffer/")
    assert kinesis_to_s3.handler(event, None) == {"records": 3, "objects": 1}
    raw = lake_layout(f"s3://{BUCKET}", "shop").raw_files()  # what the ETL job would pick up
    (key,) = raw
    hour = layout.hour_partition(
        datetime.fromtimestamp(event["Records"][0]["kinesis"]["approximateArrivalTimestamp"], UTC)
    )
    assert key.startswith(f"clickstream/shop/data/buffer/{hour}/") and key.endswith(".log.gz")
    body = aws.client("s3").get_object(Bucket=BUCKET, Key=key)["Body"].read()
    assert layout.decode_object(body) == lines
    kinesis_to_s3.handler(event, None)  # a retried batch rewrites the same object
    assert lake_layout(f"s3://{BUCKET}", "shop").raw_files() == raw


# --- EMR Serverless job submitter -----------------------------------------------------------------------------


@pytest.fixture
def submitter_env(aws: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    app = aws.client("emr-serverless").create_application(name="etl", releaseLabel="emr-7.12.0", type="SPARK")
    env = {"APPLICATION_ID": app["applicationId"], "JOB_ROLE_ARN": "arn:aws:iam::123456789012:role/job",
           "PROJECT_ID": "shop", "APP_IDS": "web,ios.app", "PLUGINS": "clickstream,ua,geo", "LAKE_ROOT": f"s3://{BUCKET}",
           "PY_FILES": f"s3://{BUCKET}/rt/etl.zip", "ENTRY_POINT": f"s3://{BUCKET}/rt/etl_entry.py", "DEPENDENCIES": "",
           "LOG_URI": f"s3://{BUCKET}/logs/", "RECORD_BUCKET": BUCKET, "RECORD_PREFIX": "clickstream/shop/job-data/",
           "FRESHNESS_HOURS": "48"}  # fmt: skip
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    # moto's ListJobRuns refuses an application that never ran (AWS lists none): one earlier, finished run.
    emr.start_job_run(aws.client("emr-serverless"), application_id=app["applicationId"], role_arn=env["JOB_ROLE_ARN"],
                      code={"py_files": env["PY_FILES"], "entry_point": env["ENTRY_POINT"]}, arguments=[],
                      name="earlier", log_uri=env["LOG_URI"])  # fmt: skip
    return app["applicationId"]


def test_submitter_starts_the_etl_with_the_job_arguments(aws: Any, submitter_env: str) -> None:
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    result = emr_submitter.handler({"source": "schedule"}, None, session=aws, now=now)
    assert result["started"] is True
    run = aws.client("emr-serverless").get_job_run(
        applicationId=submitter_env, jobRunId=result["job_run_id"]
    )["jobRun"]
    expected = emr.job_arguments(lake=f"s3://{BUCKET}", project_id="shop", app_ids=["web", "ios.app"],
                                 plugins=["clickstream", "ua", "geo"], job_name="shop-20260102030405")  # fmt: skip
    driver = run["jobDriver"]["sparkSubmit"]
    assert driver["entryPointArguments"] == [*expected, "--freshness-hours", "48"]
    assert driver["entryPoint"] == f"s3://{BUCKET}/rt/etl_entry.py"
    assert f"spark.submit.pyFiles=s3://{BUCKET}/rt/etl.zip" in driver["sparkSubmitParameters"]
    assert run["executionRole"] == "arn:aws:iam::123456789012:role/job"
    record = aws.client("s3").get_object(
        Bucket=BUCKET, Key="clickstream/shop/job-data/emr-runs/shop-20260102030405.json"
    )
    assert json.loads(record["Body"].read())["job_run_id"] == result["job_run_id"]


@pytest.fixture
def acme_plugin(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A custom enricher installed as a distribution of its own (`acme-plugins` 1.0, entry point `acme`)."""
    from pipelines.plugins import installed_plugins

    site = tmp_path / "site"
    (site / "acme_plugins").mkdir(parents=True)
    (site / "acme_plugins" / "__init__.py").write_text(
        "from etl.plugins import Enricher\n\n\nclass Acme(Enricher):\n    name = 'acme'\n"
        "    description = 'Adds the acme field.'\n\n    def enrich(self, events, ctx):\n        return events\n"
    )
    info = site / "acme_plugins-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-plugins\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[clickstream.plugins]\nacme = acme_plugins:Acme\n")
    (info / "RECORD").write_text(
        "acme_plugins/__init__.py,,\nacme_plugins-1.0.dist-info/METADATA,,\n"
        "acme_plugins-1.0.dist-info/entry_points.txt,,\nacme_plugins-1.0.dist-info/RECORD,,\n"
    )
    monkeypatch.syspath_prepend(str(site))
    installed_plugins.cache_clear()
    yield "acme"
    installed_plugins.cache_clear()


def test_a_custom_plugin_reaches_the_emr_run(aws: Any, submitter_env: str, acme_plugin: str, tmp_path: Any,
                                             monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """The plan names the plugin's code in S3PathPluginFiles, the code is uploaded there as a zip its entry
    point is found in, and the submitter puts it (and any jars) on the run's Spark settings."""
    from importlib.metadata import distributions

    from provisioning.aws.render import render_stacks
    from tests.provisioning.aws.specs import make_spec

    spec = make_spec()
    spec["processing"]["enrichers"] = ["traffic", acme_plugin]
    stacks = render_stacks(spec=spec, project_id="shop", pipeline_id="p1", apps={"web": "UTC"})
    files = stacks["Clickstream-DataProcessing-p1"].parameters["S3PathPluginFiles"]
    assert files == f"s3://{BUCKET}/clickstream/shop/runtime/etl/plugins/acme_plugins-1.0.zip"
    keys = assets.upload_plugin_code(aws, bucket=BUCKET, runtime_prefix="clickstream/shop/runtime/",
                                     plugins=["clickstream", "traffic", acme_plugin])  # fmt: skip
    assert [f"s3://{BUCKET}/{k}" for k in keys] == [files]
    shipped = tmp_path / "shipped.zip"
    shipped.write_bytes(aws.client("s3").get_object(Bucket=BUCKET, Key=keys[0])["Body"].read())
    found = {ep.name: ep.value for d in distributions(path=[str(shipped)]) for ep in d.entry_points}
    assert found == {"acme": "acme_plugins:Acme"}  # on pyFiles, etl.plugins finds the plugin in the zip
    assert "acme_plugins/__init__.py" in zipfile.ZipFile(shipped).namelist()

    jar = f"s3://{BUCKET}/jars/udf.jar"
    monkeypatch.setenv("EXTRA_FILES", f"{files},s3://{BUCKET}/data/lookup.csv")
    monkeypatch.setenv("EXTRA_JARS", jar)
    result = emr_submitter.handler({"source": "schedule"}, None, session=aws)
    run = aws.client("emr-serverless").get_job_run(applicationId=submitter_env, jobRunId=result["job_run_id"])
    params = run["jobRun"]["jobDriver"]["sparkSubmit"]["sparkSubmitParameters"]
    assert f"--conf spark.submit.pyFiles=s3://{BUCKET}/rt/etl.zip,{files}" in params
    assert (
        f"--conf spark.jars={jar}" in params and f"--conf spark.files=s3://{BUCKET}/data/lookup.csv" in params
    )


def test_submitter_waits_for_a_running_job(aws: Any, submitter_env: str) -> None:
    """moto's runs finish at once, so the running one is stubbed (AWS-shaped ListJobRuns)."""
    client = aws.client("emr-serverless")
    session = type(
        "S", (), {"client": lambda self, name: client if name == "emr-serverless" else aws.client(name)}
    )()
    with Stubber(client) as stub:
        stub.add_response("list_job_runs", {"jobRuns": [{"id": "00r1", "state": "RUNNING", "applicationId": submitter_env,
            "name": "n", "arn": "arn:aws:emr-serverless:us-east-1:123456789012:/applications/a/jobruns/00r1",
            "createdBy": "arn:aws:iam::123456789012:role/scheduler", "createdAt": datetime.now(UTC), "updatedAt": datetime.now(UTC),
            "executionRole": "arn:aws:iam::123456789012:role/job", "stateDetails": "running", "releaseLabel": "emr-7.12.0"}]},
            {"applicationId": submitter_env, "states": list(emr_submitter.ACTIVE)})  # fmt: skip
        result = emr_submitter.handler({}, None, session=session)
    assert result == {"started": False, "reason": "run 00r1 is still RUNNING"}


def test_a_finished_run_becomes_the_pipelines_metrics(aws: Any, submitter_env: str) -> None:
    started = emr_submitter.handler({}, None, session=aws)
    event = {
        "detail-type": "EMR Serverless Job Run State Change",
        "detail": {"jobRunId": started["job_run_id"]},
    }
    assert emr_submitter.handler(event, None, session=aws)["state"] == "SUCCESS"
    metrics = aws.client("cloudwatch").list_metrics(Namespace=emr.NAMESPACE)["Metrics"]
    assert {"Data Processing job failed", "Data Processing sink count"} <= {m["MetricName"] for m in metrics}


# --- Redshift load workflow (Data API through Stubber) --------------------------------------------------------


@pytest.fixture
def load_env(aws: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    env = {"ODS_BUCKET": BUCKET, "ODS_PREFIX": "clickstream/shop/data/ods/", "ODS_SUFFIX": ".snappy.parquet",
           "WORK_BUCKET": BUCKET, "WORK_PREFIX": "clickstream/shop/data/load-workflow/", "APP_IDS": "web",
           "MAX_FILES": "2", "COPY_ROLE_ARN": "arn:aws:iam::123456789012:role/copy", "DATABASE": "shop",
           "WORKGROUP_NAME": "clickstream-shop", "RETENTION_DAYS": "30"}  # fmt: skip
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    s3 = aws.client("s3")
    for i in range(3):
        s3.put_object(Bucket=BUCKET, Body=b"PAR1",
                      Key=f"clickstream/shop/data/ods/event_v2/partition_app=web/partition_year=2026/partition_month=01/partition_day=0{i + 1}/part-{i}.snappy.parquet")  # fmt: skip
    s3.put_object(Bucket=BUCKET, Body=b"x", Key="clickstream/shop/data/ods/event_v2/partition_app=other/partition_year=2026/partition_month=01/partition_day=01/p.snappy.parquet")  # fmt: skip


def _data_api() -> tuple[Any, Stubber]:
    client = boto3.client("redshift-data", region_name=REGION)
    return client, Stubber(client)


def test_load_plans_copies_merges_and_records(aws: Any, load_env: None) -> None:
    planned = redshift_load.plan({}, None)
    assert planned["more"] is True  # three files, two per manifest
    (item,) = planned["items"]
    assert item["table"] == "event_v2" and item["app_id"] == "web" and len(item["files"]) == 2
    manifest = json.loads(aws.client("s3").get_object(Bucket=BUCKET, Key=item["manifest"])["Body"].read())
    assert [e["url"] for e in manifest["entries"]] == [f"s3://{BUCKET}/{k}" for k in item["files"]]

    client, stub = _data_api()
    statements = sql.merge_statements(app_id="web", table="event_v2", role_arn="arn:aws:iam::123456789012:role/copy",
                                      manifest_uri=f"s3://{BUCKET}/{item['manifest']}")  # fmt: skip
    stub.add_response("batch_execute_statement", {"Id": "st-1", "CreatedAt": datetime.now(UTC)},
                      {"Sqls": statements, "Database": "shop", "WorkgroupName": "clickstream-shop"})  # fmt: skip
    stub.add_response("describe_statement", {"Id": "st-1", "Status": "FINISHED"}, {"Id": "st-1"})
    with stub:
        loading = redshift_load.load(item, None, data=client)
        checked = redshift_load.check(loading, None, data=client)
    assert checked["status"] == "FINISHED"
    assert any(
        "MERGE INTO web.event_v2 USING stage_event_v2_dedup" in s and "REMOVE DUPLICATES" in s
        for s in statements
    )
    assert any("PARTITION BY event_id, event_timestamp ORDER BY created_time DESC" in s for s in statements)
    again = redshift_load.plan({}, None)  # the loaded files are not planned twice
    assert [len(i["files"]) for i in again["items"]] == [1] and again["more"] is False


def test_a_failed_load_raises_with_redshifts_error(aws: Any, load_env: None) -> None:
    item = redshift_load.plan({}, None)["items"][0]
    client, stub = _data_api()
    stub.add_response(
        "describe_statement", {"Id": "st-2", "Status": "FAILED", "Error": "permission denied"}, {"Id": "st-2"}
    )
    with stub, pytest.raises(RuntimeError, match="permission denied"):
        redshift_load.check({**item, "statement_id": "st-2"}, None, data=client)


def test_users_are_upserted_by_latest_state_and_sessions_keep_a_better_source() -> None:
    users = " ".join(
        sql.merge_statements(app_id="web", table="user_v2", manifest_uri="s3://b/m", role_arn="r")
    )
    assert "PARTITION BY user_pseudo_id ORDER BY event_timestamp DESC" in users
    assert (
        "MERGE INTO web.user_v2 USING stage_user_v2_dedup ON web.user_v2.user_pseudo_id = stage_user_v2_dedup.user_pseudo_id REMOVE DUPLICATES"
        in users
    )
    sessions = " ".join(
        sql.merge_statements(app_id="web", table="session", manifest_uri="s3://b/m", role_arn="r")
    )
    assert "DELETE FROM stage_session_dedup USING web.session" in sessions


def test_clear_expired_events_relative_to_the_newest_row(
    aws: Any, load_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APP_IDS", "web,ios.app")
    client, stub = _data_api()
    for i, app in enumerate(("web", "ios.app")):
        stub.add_response("batch_execute_statement", {"Id": f"c{i}", "CreatedAt": datetime.now(UTC)},
                          {"Sqls": sql.clear_expired_statements(app, 30), "Database": "shop", "WorkgroupName": "clickstream-shop"})  # fmt: skip
    with stub:
        assert redshift_load.clear_expired({}, None, data=client) == {"statements": ["c0", "c1"]}
    assert (
        "DATEADD(day, -30, MAX(event_timestamp)) FROM ios_app.event_v2"
        in sql.clear_expired_statements("ios.app", 30)[0]
    )


# --- custom resources answer CloudFormation --------------------------------------------------------------------


@pytest.fixture
def response_url() -> Any:
    answers: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_PUT(self) -> None:
            answers.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/signed", answers
    server.shutdown()


def _request(url: str, kind: str, **props: Any) -> dict[str, Any]:
    return {"RequestType": kind, "ResponseURL": url, "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/s/1",
            "RequestId": "r1", "LogicalResourceId": "Schemas", "PhysicalResourceId": "clickstream-schemas-shop",
            "ResourceProperties": {"ServiceToken": "x", "Database": "shop", "AppIds": "web", "CreateDatabase": "false", **props}}  # fmt: skip


def test_schema_custom_resource_create_update_delete_and_failure(
    aws: Any, response_url: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, answers = response_url
    monkeypatch.setenv("DATABASE", "shop")
    monkeypatch.setenv("WORKGROUP_NAME", "clickstream-shop")
    secret = aws.client("secretsmanager").create_secret(
        Name="bi", SecretString=json.dumps({"username": "bi_shop", "password": "Pw1"})
    )["ARN"]
    client, stub = _data_api()
    target = {"Database": "shop", "WorkgroupName": "clickstream-shop"}

    def expect(sqls: list[str], status: str = "FINISHED", error: str = "") -> None:
        if len(sqls) == 1:
            stub.add_response(
                "execute_statement", {"Id": "s", "CreatedAt": datetime.now(UTC)}, {"Sql": sqls[0], **target}
            )
        else:
            stub.add_response(
                "batch_execute_statement",
                {"Id": "s", "CreatedAt": datetime.now(UTC)},
                {"Sqls": sqls, **target},
            )
        stub.add_response("describe_statement", {"Id": "s", "Status": status, "Error": error}, {"Id": "s"})

    for kind in ("Create", "Update"):
        expect(sql.schema_statements("web"))
        expect([ANY], status="FAILED", error='user "bi_shop" already exists') if kind == "Update" else expect(
            [ANY]
        )
        if kind == "Update":
            expect([ANY])  # ALTER USER … PASSWORD
        expect(sql.grant_statements("web", "bi_shop"))
    fake = lambda name: client if name == "redshift-data" else aws.client(name)  # noqa: E731
    handler = cfn.custom_resource(functools.partial(redshift_schema.on_event, make_client=fake))
    with stub:
        handler(_request(url, "Create", BIUserSecretArn=secret), None)
        handler(_request(url, "Update", BIUserSecretArn=secret), None)
    handler(_request(url, "Delete", BIUserSecretArn=secret), None)
    handler(_request(url, "Create"), None)  # no BIUserSecretArn: fails, and says why
    assert [a["Status"] for a in answers] == ["SUCCESS", "SUCCESS", "SUCCESS", "FAILED"]
    assert answers[0]["Data"] == {"Database": "shop", "Schemas": "web", "BIUserName": "bi_shop"}
    assert answers[2]["PhysicalResourceId"] == "clickstream-schemas-shop"
    assert "KeyError" in answers[3]["Reason"] and "BIUserSecretArn" in answers[3]["Reason"]
    assert all(a["RequestId"] == "r1" and a["LogicalResourceId"] == "Schemas" for a in answers)


def test_warehouse_lookup_finds_a_clusters_endpoint(aws: Any, response_url: Any) -> None:
    """Under moto: a provisioned cluster's endpoint; a missing cluster fails with Redshift's reason."""
    url, answers = response_url
    aws.client("redshift").create_cluster(ClusterIdentifier="warehouse", NodeType="ra3.xlplus",
                                          MasterUsername="admin", MasterUserPassword="Passw0rd1")  # fmt: skip
    endpoint = aws.client("redshift").describe_clusters(ClusterIdentifier="warehouse")["Clusters"][0][
        "Endpoint"
    ]
    handler = cfn.custom_resource(redshift_warehouse.on_event)
    handler({**_request(url, "Create"), "ResourceProperties": {"ClusterIdentifier": "warehouse"}}, None)
    handler({**_request(url, "Create"), "ResourceProperties": {"ClusterIdentifier": "gone"}}, None)
    handler({**_request(url, "Delete"), "ResourceProperties": {"ClusterIdentifier": "gone"}}, None)
    assert [a["Status"] for a in answers] == ["SUCCESS", "FAILED", "SUCCESS"]
    assert answers[0]["Data"] == {"WorkgroupId": "", "NamespaceId": "", "EndpointAddress": endpoint["Address"],
                                  "EndpointPort": str(endpoint["Port"])}  # fmt: skip
    assert "ClusterNotFound" in answers[1]["Reason"]


def test_warehouse_lookup_finds_a_workgroups_ids_and_endpoint(aws: Any) -> None:
    """moto has no Redshift Serverless: Stubber with the service's response shapes."""
    client = boto3.client("redshift-serverless", region_name=REGION)
    ids = {
        "workgroupId": "0a1b2c3d-0000-4000-8000-00000000000a",
        "namespaceId": "0a1b2c3d-0000-4000-8000-00000000000b",
    }
    workgroup: dict[str, Any] = {"workgroupId": ids["workgroupId"], "workgroupName": "analytics", "namespaceName": "main",
                 "status": "AVAILABLE", "endpoint": {"address": "analytics.123456789012.us-east-1.redshift-serverless.amazonaws.com", "port": 5439}}  # fmt: skip
    with Stubber(client) as stub:
        stub.add_response("get_workgroup", {"workgroup": workgroup}, {"workgroupName": "analytics"})
        stub.add_response("get_namespace", {"namespace": {"namespaceId": ids["namespaceId"], "namespaceName": "main"}},
                          {"namespaceName": "main"})  # fmt: skip
        stub.add_response("get_workgroup", {"workgroup": {**workgroup, "status": "CREATING", "endpoint": {}}},
                          {"workgroupName": "analytics"})  # fmt: skip
        stub.add_response("get_namespace", {"namespace": {"namespaceId": ids["namespaceId"], "namespaceName": "main"}},
                          {"namespaceName": "main"})  # fmt: skip
        request = {**_request("", "Create"), "ResourceProperties": {"WorkgroupName": "analytics"}}
        physical, data = redshift_warehouse.on_event(request, make_client=lambda name: client)
        assert physical == "clickstream-warehouse-analytics"
        assert data == {"WorkgroupId": ids["workgroupId"], "NamespaceId": ids["namespaceId"],
                        "EndpointAddress": workgroup["endpoint"]["address"], "EndpointPort": "5439"}  # fmt: skip
        with pytest.raises(RuntimeError, match=r"no endpoint yet \(CREATING"):
            redshift_warehouse.on_event(request, make_client=lambda name: client)


def test_a_function_that_runs_out_of_time_still_answers(response_url: Any) -> None:
    url, answers = response_url

    def slow(request: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        threading.Event().wait(30)
        return "never", {}

    context = type("C", (), {"get_remaining_time_in_millis": lambda self: 6000})()
    cfn.custom_resource(slow)(_request(url, "Create"), context)
    assert answers[0]["Status"] == "FAILED" and "ran out of time" in answers[0]["Reason"]


# --- assets -------------------------------------------------------------------------------------------------


def test_assets_are_deterministic_self_contained_and_uploaded_once(aws: Any, tmp_path: Any) -> None:
    assets.build.cache_clear()
    first = {name: assets.build(name) for name in assets.ASSETS}
    assets.build.cache_clear()
    assert first == {name: assets.build(name) for name in assets.ASSETS}
    names = zipfile.ZipFile(io.BytesIO(first["kinesis_to_s3"])).namelist()
    assert "ingestion/layout.py" in names and "ingestion/__init__.py" in names
    for name, blob in first.items():  # each imports from its zip alone, without Django or the repository
        (tmp_path / f"{name}.zip").write_bytes(blob)
        module = {
            "kinesis_to_s3": "kinesis_to_s3",
            "emr_submitter": "emr_submitter",
            "redshift": "redshift_load",
        }[name]
        done = subprocess.run([sys.executable, "-I", "-c", f"import sys; sys.path[:0] = [{str(tmp_path / f'{name}.zip')!r}]; "
                               f"import provisioning.aws.functions.{module}; import django"], capture_output=True, text=True, cwd=tmp_path)  # fmt: skip
        assert "No module named 'django'" in done.stderr or done.returncode == 0, done.stderr
        assert "provisioning" not in done.stderr.split("No module named")[0][-200:] or done.returncode == 0
    keys = assets.upload_assets(aws, bucket=BUCKET, prefix="clickstream/shop/runtime/")
    assert keys["redshift"] == f"clickstream/shop/runtime/assets/{assets.digest('redshift')}.zip"
    s3 = aws.client("s3")
    stamp = {k: s3.head_object(Bucket=BUCKET, Key=k)["LastModified"] for k in keys.values()}
    assert s3.get_object(Bucket=BUCKET, Key=keys["redshift"])["Body"].read() == first["redshift"]
    assets.upload_assets(aws, bucket=BUCKET, prefix="clickstream/shop/runtime/")
    assert stamp == {k: s3.head_object(Bucket=BUCKET, Key=k)["LastModified"] for k in keys.values()}


def test_job_code_lands_where_the_submitter_starts_it(aws: Any) -> None:
    from provisioning.aws.context import RenderContext
    from tests.provisioning.aws.specs import make_spec

    ctx = RenderContext(spec=make_spec(), project_id="shop", app_ids=("web",), region=REGION)
    code = assets.upload_job_code(aws, bucket=BUCKET, runtime_prefix=ctx.asset_prefix)
    from provisioning.aws.stacks import processing

    env = processing.build(ctx).to_dict()["Resources"]["JobSubmitter"]["Properties"]["Environment"][
        "Variables"
    ]
    assert code == {"py_files": env["PY_FILES"], "entry_point": env["ENTRY_POINT"]}
    names = zipfile.ZipFile(
        io.BytesIO(
            aws.client("s3")
            .get_object(Bucket=BUCKET, Key=code["py_files"].split(f"{BUCKET}/")[1])["Body"]
            .read()
        )
    ).namelist()
    assert "etl/job.py" in names
