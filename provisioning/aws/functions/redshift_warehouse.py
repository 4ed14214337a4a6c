"""Custom resource: what the stack needs of a warehouse it did not create — the endpoint of an existing
Redshift Serverless workgroup (with its workgroup and namespace ids) or of a provisioned cluster.

The original's control plane looks these up before it sends the parameters (spec/control-plane.md §3.2); here
the stack looks them up itself on Create and Update, so the Data API permissions, the schema set-up and the
Reporting stack get them from this stack, and a changed endpoint reaches them on the next update.
Delete has nothing to undo.
"""

from __future__ import annotations

from typing import Any

from provisioning.aws.functions.cfn import custom_resource


def look_up(props: dict[str, Any], *, serverless: Any = None, redshift: Any = None) -> dict[str, str]:
    if props.get("WorkgroupName"):
        workgroup = serverless.get_workgroup(workgroupName=props["WorkgroupName"])["workgroup"]
        namespace = serverless.get_namespace(namespaceName=workgroup["namespaceName"])["namespace"]
        endpoint = workgroup.get("endpoint") or {}
        if not endpoint.get("address"):
            raise RuntimeError(
                f"Workgroup {props['WorkgroupName']} has no endpoint yet ({workgroup.get('status')})."
            )
        return {"WorkgroupId": workgroup["workgroupId"], "NamespaceId": namespace["namespaceId"],
                "EndpointAddress": endpoint["address"], "EndpointPort": str(endpoint["port"])}  # fmt: skip
    cluster = redshift.describe_clusters(ClusterIdentifier=props["ClusterIdentifier"])["Clusters"][0]
    endpoint = cluster.get("Endpoint") or {}
    if not endpoint.get("Address"):
        raise RuntimeError(
            f"Cluster {props['ClusterIdentifier']} has no endpoint yet ({cluster.get('ClusterStatus')})."
        )
    return {"WorkgroupId": "", "NamespaceId": "", "EndpointAddress": endpoint["Address"],
            "EndpointPort": str(endpoint["Port"])}  # fmt: skip


def on_event(request: dict[str, Any], *, make_client: Any = None) -> tuple[str, dict[str, Any]]:
    import boto3

    client = make_client or boto3.client
    props = request["ResourceProperties"]
    physical_id = f"clickstream-warehouse-{props.get('WorkgroupName') or props['ClusterIdentifier']}"
    if request["RequestType"] == "Delete":
        return request.get("PhysicalResourceId") or physical_id, {}
    if props.get("WorkgroupName"):
        return physical_id, look_up(props, serverless=client("redshift-serverless"))
    return physical_id, look_up(props, redshift=client("redshift"))


handler = custom_resource(on_event)
