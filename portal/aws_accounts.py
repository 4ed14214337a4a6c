"""AWS account connections: the role an organization creates for us (a CloudFormation template and a console
link), and the connection test.

The role trusts our principal only with the connection's external id, and allows what our stacks need, scoped
to resources named `Clickstream-*` / `clickstream-*` wherever the service puts names in its ARNs (account-wide
where it uses generated ids, such as EMR Serverless applications). The role itself, its policies and its stack
are named `ClickstreamPortalAccess…`, outside that prefix, so the role can never edit its own permissions.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
)
from django.conf import settings
from django.utils import timezone
from troposphere import AccountId, GetAtt, Output, Parameter, Ref, Sub, Template
from troposphere.iam import ManagedPolicy, Role

from portal import aws
from portal.models import AwsAccount

STACK_NAME = "ClickstreamPortalAccess"
DEFAULT_ROLE_NAME = "ClickstreamPortalAccess"
CONSOLES = {
    "aws": "https://console.aws.amazon.com",
    "aws-cn": "https://console.amazonaws.cn",
    "aws-us-gov": "https://console.amazonaws-us-gov.com",
}
TEMPLATE_URL_SECONDS = 7 * 24 * 3600
_principal: tuple[float, str] | None = None
_template_urls: dict[str, tuple[float, str]] = {}  # content key → (when presigned, URL), reused for a day


def _arns(service: str, *resources: str, region: str = "*") -> list[Any]:
    """Both spellings of our prefix, for every resource pattern (`{p}` stands for the prefix)."""
    return [
        Sub(f"arn:${{AWS::Partition}}:{service}:{region}:${{AWS::AccountId}}:{r.format(p=p)}")
        for r in resources
        for p in ("Clickstream-", "clickstream-")
    ]


def _statement(sid: str, actions: list[str], resources: Any, **extra: Any) -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources, **extra}


def _provisioning() -> list[dict[str, Any]]:
    """CloudFormation and IAM: make our stacks, and the roles those stacks give to their services."""
    iam = Sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:role/Clickstream-*")
    return [
        _statement(
            "ReadStacks",
            [
                "cloudformation:ListStacks",
                "cloudformation:ValidateTemplate",
                "cloudformation:GetTemplateSummary",
                # Takes a detection id, not a stack ARN: the scheduled refresh polls its drift detections.
                "cloudformation:DescribeStackDriftDetectionStatus",
            ],
            "*",
        ),
        _statement(
            "ManageOurStacks",
            [
                "cloudformation:CreateStack",
                "cloudformation:UpdateStack",
                "cloudformation:DeleteStack",
                "cloudformation:DescribeStacks",
                "cloudformation:DescribeStackEvents",
                "cloudformation:DescribeStackResources",
                "cloudformation:ListStackResources",
                "cloudformation:GetTemplate",
                "cloudformation:CreateChangeSet",
                "cloudformation:DescribeChangeSet",
                "cloudformation:ExecuteChangeSet",
                "cloudformation:DeleteChangeSet",
                "cloudformation:ContinueUpdateRollback",
                "cloudformation:CancelUpdateStack",
                "cloudformation:TagResource",
                "cloudformation:UntagResource",
                "cloudformation:DetectStackDrift",
                "cloudformation:DescribeStackResourceDrifts",
            ],
            _arns("cloudformation", "stack/{p}*/*"),
        ),
        _statement(
            "ManageOurRoles",
            [
                "iam:CreateRole",
                "iam:DeleteRole",
                "iam:GetRole",
                "iam:UpdateRole",
                "iam:TagRole",
                "iam:UntagRole",
                "iam:UpdateAssumeRolePolicy",
                "iam:PutRolePolicy",
                "iam:DeleteRolePolicy",
                "iam:GetRolePolicy",
                "iam:ListRolePolicies",
                "iam:ListAttachedRolePolicies",
                "iam:DetachRolePolicy",
                "iam:PassRole",
            ],
            iam,
        ),
        _statement(
            "AttachOnlyOurOrServicePolicies",
            ["iam:AttachRolePolicy"],
            iam,
            Condition={
                "ArnLike": {
                    "iam:PolicyARN": [
                        Sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:policy/Clickstream-*"),
                        Sub("arn:${AWS::Partition}:iam::aws:policy/service-role/*"),
                    ]
                }
            },
        ),
        _statement(
            "ManageOurPolicies",
            [
                "iam:CreatePolicy",
                "iam:DeletePolicy",
                "iam:GetPolicy",
                "iam:GetPolicyVersion",
                "iam:CreatePolicyVersion",
                "iam:DeletePolicyVersion",
                "iam:ListPolicyVersions",
            ],
            Sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:policy/Clickstream-*"),
        ),
        _statement(
            "ServiceLinkedRoles",
            ["iam:CreateServiceLinkedRole"],
            Sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:role/aws-service-role/*"),
            Condition={
                "StringLike": {
                    "iam:AWSServiceName": [
                        "ops.emr-serverless.amazonaws.com",
                        "ecs.amazonaws.com",
                        "elasticloadbalancing.amazonaws.com",
                        "redshift.amazonaws.com",
                        "redshift-serverless.amazonaws.com",
                        "kafka.amazonaws.com",
                    ]
                }
            },
        ),
    ]


def _data() -> list[dict[str, Any]]:
    """Where events go and are modelled: S3, Kinesis, MSK, EMR Serverless, Glue, Athena, Redshift."""
    bucket = [Sub(f"arn:${{AWS::Partition}}:s3:::{p}*") for p in ("clickstream-",)]
    objects = [Sub(f"arn:${{AWS::Partition}}:s3:::{p}*/*") for p in ("clickstream-",)]
    return [
        _statement("ListBuckets", ["s3:ListAllMyBuckets", "s3:GetBucketLocation"], "*"),
        _statement(
            "PipelineBuckets",
            [
                "s3:CreateBucket",
                "s3:DeleteBucket",
                "s3:ListBucket",
                "s3:GetBucketPolicy",
                "s3:PutBucketPolicy",
                "s3:DeleteBucketPolicy",
                "s3:GetEncryptionConfiguration",
                "s3:PutEncryptionConfiguration",
                "s3:GetLifecycleConfiguration",
                "s3:PutLifecycleConfiguration",
                "s3:GetBucketNotification",
                "s3:PutBucketNotification",
                "s3:PutBucketTagging",
                "s3:GetBucketTagging",
                "s3:PutBucketPublicAccessBlock",
                "s3:GetBucketPublicAccessBlock",
            ],
            bucket,
        ),
        _statement(
            "PipelineObjects",
            ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
            objects,
        ),
        _statement(
            "ListStreamsAndClusters",
            [
                "kinesis:ListStreams",
                "kafka:ListClusters",
                "kafka:ListClustersV2",
                "emr-serverless:ListApplications",
            ],
            "*",
        ),
        _statement(
            "OurStreams",
            [
                "kinesis:CreateStream",
                "kinesis:DeleteStream",
                "kinesis:DescribeStream",
                "kinesis:DescribeStreamSummary",
                "kinesis:AddTagsToStream",
                "kinesis:UpdateShardCount",
                "kinesis:IncreaseStreamRetentionPeriod",
                "kinesis:DecreaseStreamRetentionPeriod",
                "kinesis:StartStreamEncryption",
            ],
            _arns("kinesis", "stream/{p}*"),
        ),
        _statement(
            "OurKafkaClusters",
            ["kafka:DescribeCluster", "kafka:DescribeClusterV2", "kafka:GetBootstrapBrokers"],
            _arns("kafka", "cluster/{p}*/*"),
        ),
        # EMR Serverless names its applications by generated id: the account is the narrowest scope.
        _statement(
            "EmrServerless",
            [
                "emr-serverless:CreateApplication",
                "emr-serverless:GetApplication",
                "emr-serverless:UpdateApplication",
                "emr-serverless:DeleteApplication",
                "emr-serverless:StartApplication",
                "emr-serverless:StopApplication",
                "emr-serverless:StartJobRun",
                "emr-serverless:GetJobRun",
                "emr-serverless:CancelJobRun",
                "emr-serverless:ListJobRuns",
                "emr-serverless:TagResource",
            ],
            Sub("arn:${AWS::Partition}:emr-serverless:*:${AWS::AccountId}:/applications/*"),
        ),
        _statement(
            "GlueCatalog",
            [
                "glue:CreateDatabase",
                "glue:GetDatabase",
                "glue:UpdateDatabase",
                "glue:DeleteDatabase",
                "glue:CreateTable",
                "glue:GetTable",
                "glue:GetTables",
                "glue:UpdateTable",
                "glue:DeleteTable",
                "glue:GetPartitions",
                "glue:BatchCreatePartition",
            ],
            [
                Sub("arn:${AWS::Partition}:glue:*:${AWS::AccountId}:catalog"),
                Sub("arn:${AWS::Partition}:glue:*:${AWS::AccountId}:database/clickstream*"),
                Sub("arn:${AWS::Partition}:glue:*:${AWS::AccountId}:table/clickstream*/*"),
            ],
        ),
        _statement(
            "AthenaWorkgroups",
            [
                "athena:CreateWorkGroup",
                "athena:GetWorkGroup",
                "athena:UpdateWorkGroup",
                "athena:DeleteWorkGroup",
                "athena:StartQueryExecution",
                "athena:GetQueryExecution",
                "athena:GetQueryResults",
                "athena:StopQueryExecution",
            ],
            _arns("athena", "workgroup/{p}*"),
        ),
        _statement(
            "RedshiftClusters",
            ["redshift:DescribeClusters", "redshift:GetClusterCredentialsWithIAM"],
            _arns("redshift", "cluster:{p}*", "dbname:{p}*/*"),
        ),
        # Redshift Serverless and the Data API identify workgroups by generated id: account-wide.
        _statement(
            "RedshiftServerlessAndData",
            [
                "redshift-serverless:GetWorkgroup",
                "redshift-serverless:GetNamespace",
                "redshift-serverless:ListWorkgroups",
                "redshift-serverless:ListNamespaces",
                "redshift-serverless:GetCredentials",
                "redshift-data:ExecuteStatement",
                "redshift-data:BatchExecuteStatement",
                "redshift-data:DescribeStatement",
                "redshift-data:GetStatementResult",
                "redshift-data:CancelStatement",
            ],
            "*",
            Condition={"StringEquals": {"aws:ResourceAccount": AccountId}},
        ),
    ]


def _compute() -> list[dict[str, Any]]:
    """The collector: ECS services behind a load balancer, in the account's network."""
    return [
        _statement(
            "Describe",
            [
                "ec2:DescribeVpcs",
                "ec2:DescribeSubnets",
                "ec2:DescribeSecurityGroups",
                "ec2:DescribeRouteTables",
                "ec2:DescribeAvailabilityZones",
                "ec2:DescribeVpcEndpoints",
                "ec2:DescribeNatGateways",
                "elasticloadbalancing:DescribeLoadBalancers",
                "elasticloadbalancing:DescribeTargetGroups",
                "elasticloadbalancing:DescribeListeners",
                "elasticloadbalancing:DescribeTargetHealth",
                "ecs:DescribeTaskDefinition",
                "ecs:RegisterTaskDefinition",
                "ecs:DeregisterTaskDefinition",
                "cloudwatch:DescribeAlarms",
                "cloudwatch:GetMetricData",
                "sns:ListTopics",
                "states:ListStateMachines",
            ],
            "*",
        ),
        _statement(
            "SecurityGroups",
            [
                "ec2:CreateSecurityGroup",
                "ec2:DeleteSecurityGroup",
                "ec2:AuthorizeSecurityGroupIngress",
                "ec2:AuthorizeSecurityGroupEgress",
                "ec2:RevokeSecurityGroupIngress",
                "ec2:RevokeSecurityGroupEgress",
                "ec2:CreateTags",
            ],
            [
                Sub("arn:${AWS::Partition}:ec2:*:${AWS::AccountId}:security-group/*"),
                Sub("arn:${AWS::Partition}:ec2:*:${AWS::AccountId}:vpc/*"),
            ],
        ),
        _statement(
            "OurLoadBalancers",
            [
                "elasticloadbalancing:CreateLoadBalancer",
                "elasticloadbalancing:DeleteLoadBalancer",
                "elasticloadbalancing:ModifyLoadBalancerAttributes",
                "elasticloadbalancing:CreateTargetGroup",
                "elasticloadbalancing:DeleteTargetGroup",
                "elasticloadbalancing:ModifyTargetGroupAttributes",
                "elasticloadbalancing:CreateListener",
                "elasticloadbalancing:DeleteListener",
                "elasticloadbalancing:ModifyListener",
                "elasticloadbalancing:AddTags",
            ],
            _arns(
                "elasticloadbalancing", "loadbalancer/app/{p}*/*", "targetgroup/{p}*/*", "listener/app/{p}*/*"
            ),
        ),
        _statement(
            "OurContainers",
            [
                "ecs:CreateCluster",
                "ecs:DeleteCluster",
                "ecs:DescribeClusters",
                "ecs:CreateService",
                "ecs:UpdateService",
                "ecs:DeleteService",
                "ecs:DescribeServices",
                "ecs:ListTasks",
                "ecs:DescribeTasks",
                "ecs:TagResource",
            ],
            _arns("ecs", "cluster/{p}*", "service/{p}*/*", "task/{p}*/*"),
        ),
    ]


def _operations() -> list[dict[str, Any]]:
    """Alarms, metrics and logs, notifications, functions, state machines, schedules, secrets, QuickSight."""
    return [
        _statement(
            "OurAlarmsAndDashboards",
            [
                "cloudwatch:PutMetricAlarm",
                "cloudwatch:DeleteAlarms",
                "cloudwatch:EnableAlarmActions",
                "cloudwatch:DisableAlarmActions",
                "cloudwatch:TagResource",
            ],
            _arns("cloudwatch", "alarm:{p}*"),
        ),
        _statement(
            "Dashboards",
            ["cloudwatch:PutDashboard", "cloudwatch:GetDashboard", "cloudwatch:DeleteDashboards"],
            [
                Sub(f"arn:${{AWS::Partition}}:cloudwatch::${{AWS::AccountId}}:dashboard/{p}*")
                for p in ("Clickstream-", "clickstream-")
            ],
        ),
        _statement(
            "OurMetrics",
            ["cloudwatch:PutMetricData"],
            "*",
            Condition={"StringLike": {"cloudwatch:namespace": "Clickstream/*"}},
        ),
        _statement(
            "OurLogs",
            [
                "logs:CreateLogGroup",
                "logs:DeleteLogGroup",
                "logs:PutRetentionPolicy",
                "logs:DescribeLogGroups",
                "logs:GetLogEvents",
                "logs:FilterLogEvents",
                "logs:TagResource",
            ],
            _arns("logs", "log-group:/{p}*", "log-group:/aws/lambda/{p}*", "log-group:/aws/ecs/{p}*"),
        ),
        _statement(
            "OurTopics",
            [
                "sns:CreateTopic",
                "sns:DeleteTopic",
                "sns:GetTopicAttributes",
                "sns:SetTopicAttributes",
                "sns:Subscribe",
                "sns:Unsubscribe",
                "sns:ListSubscriptionsByTopic",
                "sns:TagResource",
            ],
            _arns("sns", "{p}*"),
        ),
        _statement(
            "OurFunctions",
            [
                "lambda:CreateFunction",
                "lambda:DeleteFunction",
                "lambda:GetFunction",
                "lambda:GetFunctionConfiguration",
                "lambda:UpdateFunctionCode",
                "lambda:UpdateFunctionConfiguration",
                "lambda:InvokeFunction",
                "lambda:AddPermission",
                "lambda:RemovePermission",
                "lambda:TagResource",
                "lambda:ListTags",
            ],
            _arns("lambda", "function:{p}*"),
        ),
        _statement(
            "OurStateMachines",
            [
                "states:CreateStateMachine",
                "states:DeleteStateMachine",
                "states:DescribeStateMachine",
                "states:UpdateStateMachine",
                "states:StartExecution",
                "states:DescribeExecution",
                "states:StopExecution",
                "states:ListExecutions",
                "states:TagResource",
            ],
            _arns("states", "stateMachine:{p}*", "execution:{p}*:*"),
        ),
        _statement(
            "OurRulesAndSchedules",
            [
                "events:PutRule",
                "events:DeleteRule",
                "events:DescribeRule",
                "events:PutTargets",
                "events:RemoveTargets",
                "events:EnableRule",
                "events:DisableRule",
                "events:TagResource",
                "scheduler:CreateSchedule",
                "scheduler:UpdateSchedule",
                "scheduler:DeleteSchedule",
                "scheduler:GetSchedule",
            ],
            _arns("events", "rule/{p}*") + _arns("scheduler", "schedule/*/{p}*"),
        ),
        _statement(
            "ReadOurSecrets",
            ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
            _arns("secretsmanager", "secret:{p}*"),
        ),
        _statement(
            "QuickSight",
            [
                "quicksight:CreateDataSource",
                "quicksight:UpdateDataSource",
                "quicksight:DeleteDataSource",
                "quicksight:DescribeDataSource",
                "quicksight:PassDataSource",
                "quicksight:CreateDataSet",
                "quicksight:UpdateDataSet",
                "quicksight:DeleteDataSet",
                "quicksight:DescribeDataSet",
                "quicksight:PassDataSet",
                "quicksight:CreateAnalysis",
                "quicksight:UpdateAnalysis",
                "quicksight:DeleteAnalysis",
                "quicksight:DescribeAnalysis",
                "quicksight:CreateDashboard",
                "quicksight:UpdateDashboard",
                "quicksight:DeleteDashboard",
                "quicksight:DescribeDashboard",
                "quicksight:CreateTemplate",
                "quicksight:UpdateTemplate",
                "quicksight:DescribeTemplate",
                "quicksight:DeleteTemplate",
                # The Reporting stack's data source, data sets, template and dashboards carry permissions, and
                # a dashboard made from the preset template is published.
                "quicksight:DescribeDataSourcePermissions",
                "quicksight:UpdateDataSourcePermissions",
                "quicksight:DescribeDataSetPermissions",
                "quicksight:UpdateDataSetPermissions",
                "quicksight:DescribeTemplatePermissions",
                "quicksight:UpdateTemplatePermissions",
                "quicksight:DescribeDashboardPermissions",
                "quicksight:UpdateDashboardPermissions",
                "quicksight:UpdateDashboardPublishedVersion",
            ],
            _arns(
                "quicksight",
                "datasource/{p}*",
                "dataset/{p}*",
                "analysis/{p}*",
                "dashboard/{p}*",
                "template/{p}*",
            ),
        ),
        _statement(
            "QuickSightUsers",
            ["quicksight:DescribeUser", "quicksight:ListUsers"],
            Sub("arn:${AWS::Partition}:quicksight:*:${AWS::AccountId}:user/*"),
        ),
    ]


def role_template(*, principal_arn: str = "", account: AwsAccount | None = None) -> Template:
    """The stack that creates the role. The quick-create link fills in its parameters; a template downloaded
    for one connection (`account`) has that connection's values as defaults, for an upload by hand."""
    template = Template(
        Description="The role the Clickstream portal assumes in this account (with an external id)."
    )
    template.set_version("2010-09-09")
    external_id = template.add_parameter(
        _parameter(
            "ExternalId",
            "The external id the portal showed for this connection.",
            "[\\w+=,.@:/-]{2,1224}",
            default=account.external_id if account else None,
        )
    )
    role_name = template.add_parameter(
        _parameter(
            "RoleName",
            "The role's name, as in the ARN you gave the portal.",
            "[\\w+=,.@-]{1,64}",
            default=account.role_name if account else DEFAULT_ROLE_NAME,
        )
    )
    role_path = template.add_parameter(
        _parameter(
            "RolePath",
            "The role's path, as in the ARN (usually /).",
            "/|/[\\x21-\\x7e]*/",
            default=account.role_path if account else "/",
        )
    )
    principal = template.add_parameter(
        _parameter(
            "TrustedPrincipal",
            "The portal's own AWS principal (an IAM role or user ARN).",
            "arn:aws(-cn|-us-gov)?:iam::\\d{12}:(role|user)/.+",
            default=principal_arn or None,
        )
    )
    # Four managed policies: each stays under IAM's 6,144-character limit for one policy.
    policies = {
        "Provisioning": _provisioning(),
        "Data": _data(),
        "Compute": _compute(),
        "Operations": _operations(),
    }
    role = template.add_resource(
        Role(
            "PortalRole",
            RoleName=Ref(role_name),
            Path=Ref(role_path),
            MaxSessionDuration=3600,
            AssumeRolePolicyDocument={
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": Ref(principal)},
                        "Action": "sts:AssumeRole",
                        "Condition": {"StringEquals": {"sts:ExternalId": Ref(external_id)}},
                    }
                ],
            },
        )
    )
    for name, statements in policies.items():
        template.add_resource(
            ManagedPolicy(
                f"{name}Policy",
                ManagedPolicyName=Sub(f"{DEFAULT_ROLE_NAME}-{name}-${{AWS::StackName}}"),
                Description=f"Clickstream portal: {name}",
                Roles=[Ref(role)],
                PolicyDocument={"Version": "2012-10-17", "Statement": statements},
            )
        )
    template.add_output(_output("RoleArn", role))
    return template


def _parameter(name: str, description: str, pattern: str, default: str | None = None) -> Parameter:
    kwargs: dict[str, Any] = {"Type": "String", "Description": description, "AllowedPattern": f"^{pattern}$"}
    if default is not None:
        kwargs["Default"] = default
    return Parameter(name, **kwargs)


def _output(name: str, role: Role) -> Output:
    return Output(name, Description="Give this ARN to the portal.", Value=GetAtt(role, "Arn"))


def principal_arn() -> str:
    """Our principal as a trust policy names it: the setting, or GetCallerIdentity (an assumed-role session
    becomes its role). Remembered for five minutes; "" when the portal has no AWS credentials."""
    global _principal
    if settings.CLICKSTREAM_AWS_PRINCIPAL_ARN:
        return settings.CLICKSTREAM_AWS_PRINCIPAL_ARN
    if _principal is not None and time.monotonic() - _principal[0] < 300:
        return _principal[1]
    try:
        arn = aws.aws_client(aws.base_session(), "sts").get_caller_identity()["Arn"]
    except (BotoCoreError, ClientError):
        arn = ""
    if ":assumed-role/" in arn:
        prefix, _, rest = arn.partition(":assumed-role/")
        arn = prefix.replace(":sts::", ":iam::") + ":role/" + rest.split("/")[0]
    _principal = (time.monotonic(), arn)
    return arn


def template_body(*, account: AwsAccount | None = None) -> str:
    return role_template(principal_arn=principal_arn(), account=account).to_yaml()


def template_url() -> str:
    """A presigned S3 URL of the template in our template bucket (CloudFormation reads templates only from
    S3); "" when no bucket is configured. Uploaded once per template content."""
    bucket = settings.CLICKSTREAM_AWS_TEMPLATE_BUCKET
    if not bucket:
        return ""
    body = template_body().encode()
    key = f"clickstream-portal/role-template-{hashlib.sha256(body).hexdigest()[:16]}.yaml"
    cached = _template_urls.get(f"{bucket}/{key}")
    if cached is not None and time.monotonic() - cached[0] < 24 * 3600:
        return cached[1]
    s3 = aws.aws_client(aws.base_session(), "s3")
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError:
        s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/x-yaml")
    url = s3.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=TEMPLATE_URL_SECONDS
    )
    _template_urls[f"{bucket}/{key}"] = (time.monotonic(), url)
    return url


def quick_create_url(*, account: AwsAccount, url: str) -> str:
    """The console link that opens the stack with every parameter filled in, in the account's region."""
    query = urlencode(
        {
            "templateURL": url,
            "stackName": STACK_NAME,
            "param_ExternalId": account.external_id,
            "param_RoleName": account.role_name,
            "param_RolePath": account.role_path,
            "param_TrustedPrincipal": principal_arn(),
        }
    )
    console = CONSOLES.get(account.partition, CONSOLES["aws"])
    return f"{console}/cloudformation/home?region={account.region}#/stacks/quickcreate?{query}"


@dataclass(frozen=True)
class ConnectionTest:
    ok: bool
    message: str
    account_id: str = ""
    failed_call: str = ""


OUR_CREDENTIALS_REFUSED = {
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "UnrecognizedClientException",
}


def aws_account_test(*, account: AwsAccount) -> ConnectionTest:
    """Assume the role (afresh, never from the cache) and ask STS who we are there; record the outcome."""
    result = _try_connection(account)
    account.last_tested_at = timezone.now()
    account.last_test_ok = result.ok
    account.last_test_message = result.message
    account.save(update_fields=["last_tested_at", "last_test_ok", "last_test_message", "updated"])
    return result


def _try_connection(account: AwsAccount) -> ConnectionTest:
    try:
        credentials = aws.assume_role(account=account, region=account.region)
    except Exception as exc:
        return ConnectionTest(False, _assume_role_failure(account, exc), failed_call="sts:AssumeRole")
    session = aws.session_from(credentials=credentials, region=account.region)
    try:
        identity = aws.aws_client(session, "sts").get_caller_identity()
    except (BotoCoreError, ClientError) as exc:
        return ConnectionTest(
            False, f"The role was assumed, but sts:GetCallerIdentity failed: {aws.error_reason(exc)}",
            failed_call="sts:GetCallerIdentity",
        )  # fmt: skip
    if identity["Account"] != account.account_id:
        return ConnectionTest(
            False, f"The role answered from account {identity['Account']}, not {account.account_id}.",
            account_id=identity["Account"], failed_call="sts:GetCallerIdentity",
        )  # fmt: skip
    return ConnectionTest(True, f"Connected to account {identity['Account']} as {identity['Arn']}.",
                          account_id=identity["Account"])  # fmt: skip


def _assume_role_failure(account: AwsAccount, exc: Exception) -> str:
    code = exc.response.get("Error", {}).get("Code", "") if isinstance(exc, ClientError) else ""
    if code == "AccessDenied":
        return (
            f"sts:AssumeRole was refused: the role {account.role_arn} does not exist, does not trust our principal "
            f"({principal_arn() or 'unknown'}), or the external id does not match. Create or update the role "
            "with the CloudFormation template on this page."
        )
    if code in OUR_CREDENTIALS_REFUSED:
        return (
            f"AWS refused the portal's own credentials ({code}); the operator of this portal must fix them."
        )
    if code == "RegionDisabledException":
        return f"STS is not activated in {account.region} for the portal's account; choose another region."
    if isinstance(exc, NoCredentialsError):
        return (
            "The portal has no AWS credentials of its own; the operator of this portal must configure them."
        )
    if isinstance(exc, EndpointConnectionError | ConnectTimeoutError):
        return f"Could not reach AWS STS in {account.region}: {exc}"
    return f"sts:AssumeRole failed: {aws.error_reason(exc)}"
