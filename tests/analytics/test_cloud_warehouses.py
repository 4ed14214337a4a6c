"""The Athena and Redshift Data API warehouses: query lifecycle, parameters, errors, timeouts, cancellation.

moto runs Athena's lifecycle (its executions succeed at once and return seeded result rows); it cannot show a
failing or never-ending query, and its Redshift Data API never finishes a statement, so those cases use
botocore's Stubber with responses shaped like AWS's (each test says which).
"""

from __future__ import annotations

from datetime import date, datetime

import boto3
import pytest
import sqlglot
from botocore.stub import ANY, Stubber
from moto import mock_aws

from analytics.base import Scope
from analytics.dashboards import ACQUISITION, Options, build_query
from analytics.sql import Params, Query
from analytics.warehouse import QueryTimeout, WarehouseError
from analytics.warehouse.athena import AthenaWarehouse
from analytics.warehouse.redshift import RedshiftWarehouse

SCOPE = Scope(
    app_id="web", project_id="shop", timezone="Europe/Berlin", start=date(2026, 11, 1), end=date(2026, 11, 7)
)
KPI = next(v for v in ACQUISITION.visuals if v.id == "kpi_users")


def session() -> boto3.Session:
    return boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )


def athena_row(*values: str) -> dict:
    return {"Data": [{"VarCharValue": v} for v in values]}


@mock_aws
def test_athena_runs_a_dashboard_query_through_the_workgroup(settings):
    """moto: the execution lifecycle and seeded results; we check what reached Athena."""
    from moto.athena.models import QueryResults, athena_backends

    sess = session()
    sess.client("athena").create_work_group(Name="clickstream", Configuration={})
    backend = athena_backends["123456789012"]["us-east-1"]
    info = [{"Name": "active_users", "Type": "bigint"}, {"Name": "new_users", "Type": "bigint"}]
    backend.query_results_queue.append(
        QueryResults([athena_row("active_users", "new_users"), athena_row("42", "7")], info)
    )
    wh = AthenaWarehouse(
        project_id="shop", session=sess, database="shop_db", workgroup="clickstream", poll_seconds=0
    )
    result = wh.run(build_query(KPI, SCOPE, Options()), app_id="web", use_cache=False)
    assert result.columns == ["active_users", "new_users"] and result.rows == [(42, 7)]
    execution = next(iter(backend.executions.values()))
    assert execution.workgroup.name == "clickstream"
    sqlglot.parse_one(execution.query, read="trino")
    assert (
        "'web'" in execution.query
    )  # the app scope of the Glue table (partition projection on partition_app)
    assert "Europe/Berlin" not in execution.query and "'Europe/Berlin'" in execution.execution_parameters
    assert execution.query.count("?") == len(execution.execution_parameters)


def test_athena_failure_names_the_step():
    """Stubber: a FAILED execution (moto's never fail)."""
    wh = AthenaWarehouse(
        project_id="shop", session=session(), database="shop_db", workgroup="wg", poll_seconds=0
    )
    with Stubber(wh.client) as stub:
        stub.add_response("start_query_execution", {"QueryExecutionId": "q-1"}, {
            "QueryString": ANY, "WorkGroup": "wg", "QueryExecutionContext": {"Database": "shop_db"},
            "ExecutionParameters": ANY})  # fmt: skip
        stub.add_response("get_query_execution", {"QueryExecution": {"QueryExecutionId": "q-1", "Status": {
            "State": "FAILED", "StateChangeReason": "COLUMN_NOT_FOUND: line 1:8: Column 'x' cannot be resolved"}}})  # fmt: skip
        with pytest.raises(WarehouseError, match="kpi_users: COLUMN_NOT_FOUND"):
            wh.run(build_query(KPI, SCOPE, Options()), app_id="web", use_cache=False)


def test_athena_timeout_cancels_the_query():
    """Stubber: a query still RUNNING at the timeout is stopped."""
    wh = AthenaWarehouse(project_id="shop", session=session(), database="db", workgroup="wg", poll_seconds=0,
                         timeout_seconds=0)  # fmt: skip
    with Stubber(wh.client) as stub:
        stub.add_response("start_query_execution", {"QueryExecutionId": "q-2"})
        stub.add_response(
            "get_query_execution",
            {"QueryExecution": {"QueryExecutionId": "q-2", "Status": {"State": "RUNNING"}}},
        )
        stub.add_response("stop_query_execution", {}, {"QueryExecutionId": "q-2"})
        with pytest.raises(QueryTimeout, match="cancelled"):
            wh.run(Query.parse("slow", "SELECT 1", Params()), app_id="web", use_cache=False)
        stub.assert_no_pending_responses()


def test_athena_pages_and_types():
    """Stubber: two result pages, the header row only on the first; values typed from the column info."""
    wh = AthenaWarehouse(project_id="shop", session=session(), database="db", workgroup="wg", poll_seconds=0)
    info = {"ColumnInfo": [{"Name": "day", "Type": "date"}, {"Name": "rate", "Type": "double"}]}
    with Stubber(wh.client) as stub:
        stub.add_response("start_query_execution", {"QueryExecutionId": "q-3"})
        stub.add_response("get_query_execution", {"QueryExecution": {"Status": {"State": "QUEUED"}}})
        stub.add_response("get_query_execution", {"QueryExecution": {"Status": {"State": "SUCCEEDED"}}})
        stub.add_response("get_query_results", {"ResultSet": {"Rows": [athena_row("day", "rate"),
                          athena_row("2026-11-01", "0.5")], "ResultSetMetadata": info}, "NextToken": "t"})  # fmt: skip
        stub.add_response("get_query_results", {"ResultSet": {"Rows": [{"Data": [{"VarCharValue": "2026-11-02"}, {}]}],
                          "ResultSetMetadata": info}})  # fmt: skip
        result = wh.run(Query.parse("rates", "SELECT 1", Params()), app_id="web", use_cache=False)
    assert result.rows == [(date(2026, 11, 1), 0.5), (date(2026, 11, 2), None)]


def redshift(**kwargs) -> RedshiftWarehouse:
    return RedshiftWarehouse(
        project_id="shop", session=session(), workgroup="clickstream", poll_seconds=0, **kwargs
    )


def test_redshift_lifecycle_with_named_parameters():
    """Stubber (moto's Data API never finishes a statement): submit, poll, page through typed records."""
    wh = redshift()
    query = build_query(KPI, SCOPE, Options())
    sent = {}

    def capture(request):  # the stub checks shape; keep what was sent
        sent.update(request)

    with Stubber(wh.client) as stub:
        stub.add_response("execute_statement", {"Id": "s-1"}, {"Database": "shop", "WorkgroupName": "clickstream",
                          "Sql": ANY, "StatementName": "kpi_users", "Parameters": ANY})  # fmt: skip
        stub.add_response("describe_statement", {"Id": "s-1", "Status": "STARTED"})
        stub.add_response("describe_statement", {"Id": "s-1", "Status": "FINISHED"})
        stub.add_response("get_statement_result", {"ColumnMetadata": [{"name": "active_users", "typeName": "int8"},
                          {"name": "new_users", "typeName": "int8"}], "Records": [[{"longValue": 42}, {"longValue": 7}]],
                          "TotalNumRows": 1})  # fmt: skip
        wh.client.meta.events.register("before-parameter-build.redshift-data.ExecuteStatement",
                                       lambda params, **kw: capture(params))  # fmt: skip
        result = wh.run(query, app_id="web", use_cache=False)
    assert result.rows == [(42, 7)]
    sqlglot.parse_one(sent["Sql"], read="redshift")
    assert '"web".event_v2' in sent["Sql"] or "web.event_v2" in sent["Sql"]  # the app's schema
    assert {"name": "p0", "value": "Europe/Berlin"} in sent["Parameters"]
    assert any(
        p["value"] == "2026-10-31 23:00:00.000000" for p in sent["Parameters"]
    )  # local midnight in UTC


def test_redshift_failure_and_timeout():
    """Stubber: a FAILED statement names the step; a statement still running at the timeout is cancelled."""
    wh = redshift()
    with Stubber(wh.client) as stub:
        stub.add_response("execute_statement", {"Id": "s-2"})
        stub.add_response("describe_statement", {"Id": "s-2", "Status": "FAILED",
                          "Error": 'ERROR: relation "web.event_v2" does not exist'})  # fmt: skip
        with pytest.raises(WarehouseError, match=r'funnel: ERROR: relation "web\.event_v2" does not exist'):
            wh.run(Query.parse("funnel", "SELECT 1", Params()), app_id="web", use_cache=False)
    slow = redshift(timeout_seconds=0)
    with Stubber(slow.client) as stub:
        stub.add_response("execute_statement", {"Id": "s-3"})
        stub.add_response("describe_statement", {"Id": "s-3", "Status": "PICKED"})
        stub.add_response("cancel_statement", {"Status": True}, {"Id": "s-3"})
        with pytest.raises(QueryTimeout):
            slow.run(Query.parse("slow", "SELECT 1", Params()), app_id="web", use_cache=False)
        stub.assert_no_pending_responses()


def test_redshift_provisioned_cluster_uses_the_db_user():
    wh = RedshiftWarehouse(
        project_id="shop", session=session(), cluster="analytics", db_user="clickstream_bi"
    )
    assert wh.target == {"Database": "shop", "ClusterIdentifier": "analytics", "DbUser": "clickstream_bi"}
    with pytest.raises(ValueError):
        RedshiftWarehouse(project_id="shop", session=session())


def test_a_load_records_a_new_data_version(settings):
    """Engines loaded outside us: each processing run records a version, so cached results stop matching."""
    wh = redshift()
    with Stubber(wh.client) as stub:
        stub.add_response("execute_statement", {"Id": "s-4"})
        stub.add_response("describe_statement", {"Id": "s-4", "Status": "FINISHED"})
        stub.add_response("get_statement_result", {"ColumnMetadata": [{"name": "latest", "typeName": "timestamp"}],
                          "Records": [[{"stringValue": "2026-11-07 10:00:00"}]]})  # fmt: skip
        state = wh.load(app_ids=["web"])
    assert state.latest_event == {"web": datetime(2026, 11, 7, 10)}
    assert wh.state().version == state.version
