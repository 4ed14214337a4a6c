"""Custom resource: the project's database, one schema per app with the four base tables, and the read-only
BI user QuickSight signs in as (spec/analytics.md §1.1), through the Redshift Data API.

Create and Update are the same idempotent set-up (IF NOT EXISTS everywhere; a new app on update gets its
schema). Delete keeps the data: dropping a customer's warehouse is not a stack operation. For a provisioned
cluster, Create also attaches the COPY role to the cluster, which CloudFormation cannot do for a cluster it
did not create.
"""

from __future__ import annotations

import json
from typing import Any

from provisioning.aws.functions import redshift_sql as sql
from provisioning.aws.functions.cfn import custom_resource


def set_up(props: dict[str, Any], *, data: Any, secrets: Any, redshift: Any = None) -> dict[str, Any]:
    database, apps = props["Database"], [a for a in props["AppIds"].split(",") if a]
    secret = json.loads(secrets.get_secret_value(SecretId=props["BIUserSecretArn"])["SecretString"])
    user, password = secret["username"], secret["password"]  # read first: a bad secret changes nothing
    if props.get("ClusterIdentifier") and props.get("CopyRoleArn") and redshift is not None:
        attached = redshift.describe_clusters(ClusterIdentifier=props["ClusterIdentifier"])["Clusters"][0]
        if props["CopyRoleArn"] not in {r["IamRoleArn"] for r in attached.get("IamRoles", [])}:
            redshift.modify_cluster_iam_roles(ClusterIdentifier=props["ClusterIdentifier"],
                                              AddIamRoles=[props["CopyRoleArn"]])  # fmt: skip
    if props.get("CreateDatabase") == "true":
        try:
            sql.run(data, [f'CREATE DATABASE "{database}"'], database=props.get("DefaultDatabase", "dev"))
        except RuntimeError as error:
            if "already exists" not in str(error):
                raise
    statements = [s for app in apps for s in sql.schema_statements(app)]
    if statements:
        sql.run(data, statements, database=database)
    try:
        sql.run(data, [f'CREATE USER "{user}" PASSWORD {sql.quote_literal(password)}'], database=database)
    except RuntimeError as error:
        if "already exists" not in str(error):
            raise
        sql.run(data, [f'ALTER USER "{user}" PASSWORD {sql.quote_literal(password)}'], database=database)
    grants = [s for app in apps for s in sql.grant_statements(app, user)]
    if grants:
        sql.run(data, grants, database=database)
    return {"Database": database, "Schemas": ",".join(sql.schema_name(a) for a in apps), "BIUserName": user}


def on_event(request: dict[str, Any], *, make_client: Any = None) -> tuple[str, dict[str, Any]]:
    import boto3

    client = make_client or boto3.client
    props = request["ResourceProperties"]
    physical_id = f"clickstream-schemas-{props['Database']}"
    if request["RequestType"] == "Delete":
        return request.get("PhysicalResourceId") or physical_id, {}
    data = set_up(props, data=client("redshift-data"), secrets=client("secretsmanager"),
                  redshift=client("redshift") if props.get("ClusterIdentifier") else None)  # fmt: skip
    return physical_id, data


handler = custom_resource(on_event)
