"""What every stack template shares: parameters with the contract's names, the permissions boundary, scoped
roles, functions from zip assets, log groups and the names one stack uses for another's resources.

A statement is written as ``allow(actions, resources)``; roles never get a ``*`` action, and a ``*`` resource
only for the calls AWS does not scope (`UNSCOPED_ACTIONS`, checked by the tests).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from troposphere import (
    AWS_ACCOUNT_ID,
    AWS_NO_VALUE,
    AWS_PARTITION,
    AWS_REGION,
    Equals,
    GetAtt,
    If,
    Not,
    Output,
    Parameter,
    Ref,
    Sub,
    Tags,
    Template,
    awslambda,
    encode_to_dict,
    iam,
    logs,
)

from provisioning.aws import assets

BOUNDARY = "IamRoleBoundaryArn"
APP_REGISTRY = "AppRegistryApplicationArn"
HAS_BOUNDARY = "HasPermissionsBoundary"
HAS_APP_REGISTRY = "HasAppRegistry"
LAMBDA_RUNTIME = "python3.13"
# Calls that take no resource ARN (IAM's "*" is the only resource they accept), each with why it is needed.
UNSCOPED_ACTIONS = {
    "ecr:GetAuthorizationToken": "ECS agent pulls the collector image; the token call has no resource",
    "ecs:DiscoverPollEndpoint": "ECS agent on the EC2 hosts; the call has no resource",
    "cloudwatch:PutMetricData": "metrics have no ARN; restricted to the pipeline's namespaces by condition",
    "redshift-data:DescribeStatement": "statement ids have no ARN; callers only see their own statements",
    "redshift-data:GetStatementResult": "as DescribeStatement",
    "ec2:DescribeNetworkInterfaces": "ENIs of MSK Connect workers in the VPC; describe calls have no resource",
    "ec2:DescribeSubnets": "as DescribeNetworkInterfaces",
    "ec2:DescribeVpcs": "as DescribeNetworkInterfaces",
    "ec2:DescribeSecurityGroups": "as DescribeNetworkInterfaces",
    "ec2:CreateNetworkInterface": "the EMR Serverless/MSK Connect service role needs ENIs in the VPC",
    "ec2:DeleteNetworkInterface": "as CreateNetworkInterface",
    "ec2:DescribeDhcpOptions": "as DescribeNetworkInterfaces",
    **{
        f"logs:{a}": "Step Functions log delivery: AWS requires '*' for these (the CloudWatch Logs guide)"
        for a in (
            "CreateLogDelivery",
            "GetLogDelivery",
            "UpdateLogDelivery",
            "DeleteLogDelivery",
            "ListLogDeliveries",
            "PutResourcePolicy",
            "DescribeResourcePolicies",
            "DescribeLogGroups",
        )
    },
}


def allow(
    actions: list[str], resources: list[Any], condition: dict[str, Any] | None = None
) -> dict[str, Any]:
    statement: dict[str, Any] = {"Effect": "Allow", "Action": sorted(actions), "Resource": resources}
    if condition:
        statement["Condition"] = condition
    return statement


def arn(service: str, resource: str, *, region: bool = True, account: bool = True) -> Sub:
    """``arn:${AWS::Partition}:<service>:<region>:<account>:<resource>`` (``${Param}`` allowed in resource)."""
    r = "${AWS::Region}" if region else ""
    a = "${AWS::AccountId}" if account else ""
    return Sub(f"arn:${{AWS::Partition}}:{service}:{r}:{a}:{resource}")


def s3_object_arn(bucket_param: str, prefix_param: str) -> Sub:
    return Sub(f"arn:${{AWS::Partition}}:s3:::${{{bucket_param}}}/${{{prefix_param}}}*")


def s3_bucket_arn(bucket_param: str) -> Sub:
    return Sub(f"arn:${{AWS::Partition}}:s3:::${{{bucket_param}}}")


def s3_list(bucket_param: str, prefix_params: list[str]) -> dict[str, Any]:
    """ListBucket on the bucket, only below the given prefixes."""
    return allow(
        ["s3:ListBucket"],
        [s3_bucket_arn(bucket_param)],
        {"StringLike": {"s3:prefix": [Sub(f"${{{p}}}*") for p in prefix_params]}},
    )


def pipeline_key() -> dict[str, Any]:
    """The pipeline's id, read from the stack's own name (`Clickstream-<Kind>-<pipelineId>`,
    `pipelines.plan.stack_name`), for `${PipelineKey}` in `unique_name`."""
    return {"Fn::Select": [2, {"Fn::Split": ["-", Ref("AWS::StackName")]}]}


def unique_name(pattern: str) -> Sub:
    """A name AWS wants unique in the account and region: `${PipelineKey}` in it is the pipeline's id.
    Project ids are unique only within an organization, so two organizations' projects `shop` in one account
    would otherwise share (and fight over) one topic, dashboard, Glue database…"""
    return Sub(pattern, PipelineKey=pipeline_key())


def alarm_topic_arn() -> Sub:
    """The Metrics stack's topic, by its fixed name: every stack's alarms notify it without a cross-stack
    parameter (the contract passes none)."""
    return unique_name("arn:${AWS::Partition}:sns:${AWS::Region}:${AWS::AccountId}:" + ALARM_TOPIC)


ALARM_TOPIC = "clickstream-${ProjectId}-${PipelineKey}-alarms"


def alarm_topic_name(*, project_id: str, pipeline_id: str) -> str:
    """The topic's name as the Metrics template gives it, for the portal's side (the notifications sync)."""
    return ALARM_TOPIC.replace("${ProjectId}", project_id).replace("${PipelineKey}", pipeline_id)


def alarm_name(alarm: str) -> Sub:
    """``Clickstream|<projectId> <Alarm>_<stackShortId>`` (spec/control-plane.md §4.1)."""
    return Sub(
        f"Clickstream|${{ProjectId}} {alarm}_${{ShortId}}",
        ShortId={
            "Fn::Select": [
                0,
                {"Fn::Split": ["-", {"Fn::Select": [2, {"Fn::Split": ["/", Ref("AWS::StackId")]}]}]},
            ]
        },
    )


@dataclass
class Stack:
    """A template under construction, with the parameters every stack takes (boundary, AppRegistry)."""

    kind: str
    description: str
    asset_bucket: str = ""
    asset_prefix: str = ""
    registry: bool = True  # takes AppRegistryApplicationArn (every stack but the AppRegistry one)

    def __post_init__(self) -> None:
        self.raw: dict[str, dict[str, Any]] = {}
        self.t = Template(Description=f"(Clickstream) {self.kind}: {self.description}")
        self.t.set_version("2010-09-09")
        self.param(BOUNDARY, default="", description="ARN of the permissions boundary of every role ('' = none)",
                   pattern=r"^(arn:aws(-cn|-us-gov)?:iam::[0-9]{12}:policy\/[\w+=,.@\-\/]+)?$")  # fmt: skip
        self.condition(HAS_BOUNDARY, Not(Equals(Ref(BOUNDARY), "")))
        if self.registry:
            self.param(
                APP_REGISTRY, default="", description="AppRegistry application to associate ('' = none)"
            )
            self.condition(HAS_APP_REGISTRY, Not(Equals(Ref(APP_REGISTRY), "")))

    # --- template parts -------------------------------------------------------------------------------

    def param(
        self,
        key: str,
        *,
        type: str = "String",
        default: Any = None,
        allowed: list[str] | None = None,
        description: str = "",
        pattern: str | None = None,
        min_value: int | None = None,
        max_value: int | None = None,
    ) -> Parameter:
        props: dict[str, Any] = {"Type": type, "Description": description or key}
        if default is not None:
            props["Default"] = default
        if allowed:
            props["AllowedValues"] = allowed
        if pattern:
            props["AllowedPattern"] = pattern
        if min_value is not None:
            props["MinValue"] = min_value
        if max_value is not None:
            props["MaxValue"] = max_value
        return self.t.add_parameter(Parameter(key, **props))

    def condition(self, name: str, expr: Any) -> str:
        self.t.add_condition(name, expr)
        return name

    def output(self, key: str, value: Any, *, description: str = "", condition: str | None = None) -> None:
        props: dict[str, Any] = {"Value": value, "Description": description or key}
        if condition:
            props["Condition"] = condition
        self.t.add_output(Output(key, **props))

    def add(self, resource: Any) -> Any:
        return self.t.add_resource(resource)

    def tags(self, **extra: str) -> Tags:
        return Tags({"aws-solution/clickstream/project": Ref("ProjectId"), **extra})

    def role(
        self, name: str, *, service: str, statements: list[dict[str, Any]], managed: list[Any] | None = None
    ) -> iam.Role:
        """A role for one AWS service with an inline policy of exactly these statements."""
        props: dict[str, Any] = {
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
            },
            "PermissionsBoundary": If(HAS_BOUNDARY, Ref(BOUNDARY), Ref(AWS_NO_VALUE)),
            "Policies": [iam.Policy(PolicyName=f"{name}Policy",
                                    PolicyDocument={"Version": "2012-10-17", "Statement": statements})],
        }  # fmt: skip
        if managed:
            props["ManagedPolicyArns"] = managed
        return self.add(iam.Role(name, **props))

    def log_group(self, name: str, *, days: int = 30) -> logs.LogGroup:
        return self.add(logs.LogGroup(name, RetentionInDays=days))

    def function(
        self,
        name: str,
        *,
        asset: str,
        handler: str,
        statements: list[dict[str, Any]],
        environment: dict[str, Any] | None = None,
        timeout: int = 60,
        memory: int = 256,
    ) -> tuple[awslambda.Function, iam.Role]:
        """A Python function from a zip asset, with its own log group and a role that may write only there."""
        group = self.log_group(f"{name}Logs")
        role = self.role(
            f"{name}Role",
            service="lambda.amazonaws.com",
            statements=[
                allow(["logs:CreateLogStream", "logs:PutLogEvents"], [GetAtt(group, "Arn")]),
                *statements,
            ],
        )
        fn = self.add(
            awslambda.Function(
                name,
                Runtime=LAMBDA_RUNTIME,
                Handler=handler,
                Role=GetAtt(role, "Arn"),
                Code=awslambda.Code(
                    S3Bucket=self.asset_bucket, S3Key=assets.asset_key(asset, self.asset_prefix)
                ),
                Timeout=timeout,
                MemorySize=memory,
                Architectures=["arm64"],
                LoggingConfig=awslambda.LoggingConfig(LogGroup=Ref(group)),
                Environment=awslambda.Environment(Variables=environment or {"NONE": "-"}),
                Tags=self.tags(),
            )
        )
        return fn, role

    def app_registry(self) -> None:
        """Associate the stack with the AppRegistry application when one is given."""
        from troposphere import servicecatalogappregistry as sc

        self.add(sc.ResourceAssociation("AppRegistryAssociation", Condition=HAS_APP_REGISTRY,
                                        Application=Ref(APP_REGISTRY), Resource=Ref("AWS::StackId"),
                                        ResourceType="CFN_STACK"))  # fmt: skip

    def add_raw(self, name: str, kind: str, properties: dict[str, Any], **attributes: Any) -> Ref:
        """A resource whose properties troposphere types too narrowly (QuickSight definitions)."""
        self.raw[name] = {"Type": kind, "Properties": properties, **attributes}
        return Ref(name)

    @property
    def has_roles(self) -> bool:
        return any(r.resource_type == "AWS::IAM::Role" for r in self.t.resources.values())

    def to_dict(self) -> dict[str, Any]:
        """The template; a stack without roles has no boundary parameter (there is nothing to bound)."""
        if not self.has_roles:
            self.t.parameters.pop(BOUNDARY, None)
            self.t.conditions.pop(HAS_BOUNDARY, None)
        template = self.t.to_dict()
        if self.raw:
            template["Resources"].update({k: encode_to_dict(v) for k, v in self.raw.items()})
        return template


def subnet_list(name: str) -> dict[str, Any]:
    return {"Fn::Split": [",", Ref(name)]}


__all__ = ["AWS_ACCOUNT_ID", "AWS_PARTITION", "AWS_REGION", "Stack", "allow", "arn"]
