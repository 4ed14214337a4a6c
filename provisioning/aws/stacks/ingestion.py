"""Ingestion: the collector (`ingestion/`, its container image) behind an Application Load Balancer, on ECS
with EC2 Auto Scaling (launch template, capacity provider, warm pool) or Fargate, scaling on CPU; optional
Global Accelerator, load balancer access logs and OIDC authentication; and the sink — S3 (the collector
writes the raw layout), Kinesis (a stream and the Kinesis→S3 function) or Kafka/MSK.

The app-id allow-list is enforced by the collector (`COLLECTOR_APP_IDS`), not by listener rules: the rule
count of a listener is limited and an app added to the project is then one parameter change. The load
balancer answers 403 for any path but the endpoint's (and `/health` for its own checks).
"""

from __future__ import annotations

from troposphere import (
    Base64,
    Equals,
    GetAtt,
    If,
    Join,
    Not,
    Ref,
    Sub,
    autoscaling,
    awslambda,
    cloudwatch,
    ec2,
    ecr,
    ecs,
    iam,
    kinesis,
)
from troposphere import (
    applicationautoscaling as aas,
)
from troposphere import (
    elasticloadbalancingv2 as elb,
)
from troposphere import (
    globalaccelerator as ga,
)

from provisioning.aws.common import Stack, alarm_name, alarm_topic_arn, allow, arn, s3_object_arn, unique_name
from provisioning.aws.context import RenderContext

PORT = 8088
# Regions where AWS::GlobalAccelerator endpoints may be (elsewhere the spec's switch is refused by the renderer).
GLOBAL_ACCELERATOR_REGIONS = frozenset(
    [
        "us-east-1",
        "us-east-2",
        "us-west-1",
        "us-west-2",
        "ap-east-1",
        "ap-northeast-1",
        "ap-northeast-2",
        "ap-northeast-3",
        "ap-south-1",
        "ap-southeast-1",
        "ap-southeast-2",
        "ca-central-1",
        "eu-central-1",
        "eu-north-1",
        "eu-west-1",
        "eu-west-2",
        "eu-west-3",
        "sa-east-1",
        "me-south-1",
    ]
)
YES_NO = ["Yes", "No"]
ECS_AMI = "/aws/service/ecs/optimized-ami/amazon-linux-2023/arm64/recommended/image_id"


def _params(s: Stack, ctx: RenderContext) -> None:
    p = s.param
    p("ProjectId", pattern=r"^[a-z][a-z0-9_]{0,126}$")
    p("AppIds", default="", description="Comma list of accepted app ids (the collector's allow-list)")
    p("DevMode", default="No", allowed=YES_NO)
    p("ClickStreamSDK", default="Yes", allowed=YES_NO)
    p(
        "EcsInfraType",
        allowed=["FARGATE" if ctx.fargate else "EC2"],
        default="FARGATE" if ctx.fargate else "EC2",
    )
    p("SinkType", allowed=[{"s3": "S3", "kafka": "MSK", "kinesis": "KDS"}[ctx.sink]])
    p("VpcId", type="AWS::EC2::VPC::Id")
    p("PublicSubnetIds", type="List<AWS::EC2::Subnet::Id>", description="Subnets of the load balancer")
    p("PrivateSubnetIds", type="List<AWS::EC2::Subnet::Id>", description="Subnets of the collector")
    p("Protocol", allowed=["HTTPS" if ctx.get("ingestion.protocol") == "HTTPS" else "HTTP"])
    p("DomainName", default="")
    p("ACMCertificateArn", default="")
    p("ServerEndpointPath", default="/collect", pattern=r"^\/[a-zA-Z0-9_\-\/\.]*$")
    p("ServerCorsOrigin", default="", description="CORS origins in the stack's pattern form")
    p("ServerMax", type="Number", default="4", min_value=1)
    p("ServerMin", type="Number", default="2", min_value=1)
    if ctx.fargate:  # Fargate has no warm pool (the spec refuses one)
        p("WarmPoolSize", type="Number", default="0", allowed=["0"])
    else:
        p("WarmPoolSize", type="Number", default="0", min_value=0)
    p("ScaleOnCpuUtilizationPercent", type="Number", default="50", min_value=1, max_value=100)
    p(
        "EnableGlobalAccelerator",
        default="No",
        allowed=YES_NO if ctx.region in GLOBAL_ACCELERATOR_REGIONS else ["No"],
    )
    p("AuthenticationSecretArn", default="")
    p(
        "EnableAuthentication",
        default="No",
        allowed=YES_NO if ctx.get("ingestion.authentication_secret_arn") else ["No"],
    )
    p("EnableApplicationLoadBalancerAccessLog", default="No", allowed=YES_NO)
    p("LogS3Bucket", default=ctx.bucket)
    p("LogS3Prefix", default=f"{ctx.base}logs/alb/")
    p("WorkerStopTimeout", type="Number", default="120", min_value=60, max_value=3630,
      description="Seconds a stopping collector may take to flush (above the S3 batch timeout)")  # fmt: skip
    p(
        "CollectorImage",
        default="",
        description="Collector image URI ('' = the stack's ECR repository, tag latest)",
    )
    if ctx.sink == "s3":
        p("S3DataBucket")
        p("S3DataPrefix", pattern=r"^([^/].*/)?$")
        p("S3BatchMaxBytes", type="Number", default="30000000", min_value=1000000, max_value=50000000)
        p("S3BatchTimeout", type="Number", default="60", min_value=60, max_value=3600)
    elif ctx.sink == "kinesis":
        p("KinesisStreamMode", default="ON_DEMAND", allowed=["ON_DEMAND", "PROVISIONED"])
        p("KinesisShardCount", type="Number", default="3", min_value=1)
        p("KinesisDataRetentionHours", type="Number", default="24", min_value=24, max_value=8760)
        p("KinesisBatchSize", type="Number", default="10000", min_value=1, max_value=10000)
        p("KinesisMaxBatchingWindowSeconds", type="Number", default="300", min_value=0, max_value=300)
        p("KinesisDataS3Bucket")
        p("KinesisDataS3Prefix", pattern=r"^([^/].*/)?$")
    else:
        p("MskClusterName", default="")
        p("MskSecurityGroupId", default="", pattern=r"^(sg-[a-f0-9]+)?$")
        p("KafkaTopic")
        p("KafkaBrokers")
    s.condition("AccessLogs", Equals(Ref("EnableApplicationLoadBalancerAccessLog"), "Yes"))
    s.condition("HasImage", Not(Equals(Ref("CollectorImage"), "")))


def _sink(s: Stack, ctx: RenderContext) -> tuple[str, list[dict[str, object]], object | None]:
    """The collector's sink URL, its task role statements, and the stream (Kinesis)."""
    if ctx.sink == "s3":
        statements = [
            allow(
                ["s3:PutObject", "s3:AbortMultipartUpload"], [s3_object_arn("S3DataBucket", "S3DataPrefix")]
            )
        ]
        return ctx.lake_root, statements, None
    if ctx.sink == "kafka":
        return "kafka://${KafkaBrokers}/${KafkaTopic}", [], None
    provisioned = s.condition("ProvisionedStream", Equals(Ref("KinesisStreamMode"), "PROVISIONED"))
    stream = s.add(kinesis.Stream(
        "Stream", StreamModeDetails=kinesis.StreamModeDetails(StreamMode=Ref("KinesisStreamMode")),
        ShardCount=If(provisioned, Ref("KinesisShardCount"), Ref("AWS::NoValue")),
        RetentionPeriodHours=Ref("KinesisDataRetentionHours"),
        StreamEncryption=kinesis.StreamEncryption(EncryptionType="KMS", KeyId="alias/aws/kinesis"), Tags=s.tags()))  # fmt: skip
    fn, _ = s.function(
        "KinesisToS3", asset="kinesis_to_s3", handler="provisioning.aws.functions.kinesis_to_s3.handler",
        timeout=900, memory=1024,
        environment={"S3_BUCKET": Ref("KinesisDataS3Bucket"), "S3_PREFIX": Ref("KinesisDataS3Prefix")},
        statements=[
            allow(["kinesis:GetRecords", "kinesis:GetShardIterator", "kinesis:DescribeStream",
                   "kinesis:DescribeStreamSummary", "kinesis:ListShards", "kinesis:SubscribeToShard"],
                  [GetAtt(stream, "Arn")]),
            allow(["kinesis:ListStreams"], [arn("kinesis", "stream/*")]),
            allow(["kms:Decrypt"], [arn("kms", "key/*")], {"StringEquals": {"kms:ViaService": Sub("kinesis.${AWS::Region}.amazonaws.com")}}),
            allow(["s3:PutObject"], [s3_object_arn("KinesisDataS3Bucket", "KinesisDataS3Prefix")]),
        ])  # fmt: skip
    s.add(awslambda.EventSourceMapping(
        "KinesisToS3Source", FunctionName=Ref(fn), EventSourceArn=GetAtt(stream, "Arn"), StartingPosition="LATEST",
        BatchSize=Ref("KinesisBatchSize"), MaximumBatchingWindowInSeconds=Ref("KinesisMaxBatchingWindowSeconds")))  # fmt: skip
    s.output("KinesisArn", GetAtt(stream, "Arn"))
    statements = [allow(["kinesis:PutRecord", "kinesis:PutRecords", "kinesis:DescribeStreamSummary"], [GetAtt(stream, "Arn")]),
                  allow(["kms:GenerateDataKey"], [arn("kms", "key/*")], {"StringEquals": {"kms:ViaService": Sub("kinesis.${AWS::Region}.amazonaws.com")}})]  # fmt: skip
    return "kinesis://${Stream}", statements, stream


def build(ctx: RenderContext) -> Stack:
    s = Stack(
        "Ingestion", "the collector fleet behind a load balancer and its sink", ctx.bucket, ctx.asset_prefix
    )
    _params(s, ctx)
    public = ctx.get("network.type", "General") == "General"
    https = ctx.get("ingestion.protocol") == "HTTPS"
    auth = bool(ctx.get("ingestion.authentication_secret_arn"))

    alb_sg = s.add(ec2.SecurityGroup("LoadBalancerSecurityGroup", VpcId=Ref("VpcId"),
        GroupDescription="Clickstream ingestion load balancer", SecurityGroupIngress=[
            ec2.SecurityGroupRule(IpProtocol="tcp", FromPort=port, ToPort=port, CidrIp="0.0.0.0/0", Description=f"SDK requests on {port}")
            for port in ((80, 443) if https else (80,))], Tags=s.tags()))  # fmt: skip
    ecs_sg = s.add(ec2.SecurityGroup("CollectorSecurityGroup", VpcId=Ref("VpcId"),
        GroupDescription="Clickstream collectors", SecurityGroupIngress=[ec2.SecurityGroupRule(
            IpProtocol="tcp", FromPort=PORT, ToPort=PORT, SourceSecurityGroupId=Ref(alb_sg),
            Description="from the load balancer")], Tags=s.tags()))  # fmt: skip

    if ctx.sink == "kafka":  # the collectors may reach the brokers through the cluster's security group
        s.condition("HasMskSecurityGroup", Not(Equals(Ref("MskSecurityGroupId"), "")))
        s.add(ec2.SecurityGroupIngress("CollectorToBrokers", Condition="HasMskSecurityGroup", GroupId=Ref("MskSecurityGroupId"),
            IpProtocol="tcp", FromPort=9092, ToPort=9098, SourceSecurityGroupId=Ref(ecs_sg),
            Description=Sub("Clickstream collectors of ${ProjectId} (MSK ${MskClusterName})")))  # fmt: skip
    lb = s.add(elb.LoadBalancer(
        "LoadBalancer", Type="application", Scheme="internet-facing" if public else "internal",
        Subnets=Ref("PublicSubnetIds"), SecurityGroups=[Ref(alb_sg)], Tags=s.tags(**{"clickstream/protocol": Ref("Protocol"), "clickstream/authentication": Ref("EnableAuthentication"),
                       "clickstream/authentication-secret": Ref("AuthenticationSecretArn"),
                       "clickstream/global-accelerator": Ref("EnableGlobalAccelerator"),
                       **({} if https else {"clickstream/domain": Ref("DomainName"), "clickstream/certificate": Ref("ACMCertificateArn")})}),
        LoadBalancerAttributes=[
            elb.LoadBalancerAttributes(Key="access_logs.s3.enabled", Value=If("AccessLogs", "true", "false")),
            elb.LoadBalancerAttributes(Key="access_logs.s3.bucket", Value=If("AccessLogs", Ref("LogS3Bucket"), Ref("AWS::NoValue"))),
            elb.LoadBalancerAttributes(Key="access_logs.s3.prefix", Value=If("AccessLogs", Ref("LogS3Prefix"), Ref("AWS::NoValue"))),
            elb.LoadBalancerAttributes(Key="routing.http.drop_invalid_header_fields.enabled", Value="true"),
        ]))  # fmt: skip
    target = s.add(elb.TargetGroup(
        "Collectors", Port=PORT, Protocol="HTTP", TargetType="ip", VpcId=Ref("VpcId"),
        HealthCheckPath="/health", HealthCheckIntervalSeconds=15, HealthyThresholdCount=2,
        TargetGroupAttributes=[elb.TargetGroupAttribute(Key="deregistration_delay.timeout_seconds", Value="30")]))  # fmt: skip
    forbidden = elb.Action(Type="fixed-response", FixedResponseConfig=elb.FixedResponseConfig(StatusCode="403", ContentType="text/plain", MessageBody="Forbidden"))  # fmt: skip
    listener_props = {"LoadBalancerArn": Ref(lb), "DefaultActions": [forbidden]}
    if https:
        listener = s.add(elb.Listener("Listener", Port=443, Protocol="HTTPS", SslPolicy="ELBSecurityPolicy-TLS13-1-2-2021-06",
                                      Certificates=[elb.Certificate(CertificateArn=Ref("ACMCertificateArn"))], **listener_props))  # fmt: skip
        s.add(elb.Listener("RedirectListener", LoadBalancerArn=Ref(lb), Port=80, Protocol="HTTP", DefaultActions=[elb.Action(
            Type="redirect", RedirectConfig=elb.RedirectConfig(Protocol="HTTPS", Port="443", StatusCode="HTTP_301"))]))  # fmt: skip
    else:
        listener = s.add(elb.Listener("Listener", Port=80, Protocol="HTTP", **listener_props))
    forward = elb.ListenerRuleAction(Type="forward", TargetGroupArn=Ref(target), Order=2)
    actions: object = [forward]
    if auth:
        secret = "{{resolve:secretsmanager:${AuthenticationSecretArn}:SecretString:%s}}"
        oidc = elb.ListenerRuleAction(Type="authenticate-oidc", Order=1, AuthenticateOidcConfig=elb.ListenerRuleAuthenticateOidcConfig(
            Issuer=Sub(secret % "issuer"), AuthorizationEndpoint=Sub(secret % "authorizationEndpoint"),
            TokenEndpoint=Sub(secret % "tokenEndpoint"), UserInfoEndpoint=Sub(secret % "userEndpoint"),
            ClientId=Sub(secret % "appClientId"), ClientSecret=Sub(secret % "appClientSecret"),
            OnUnauthenticatedRequest="deny"))  # fmt: skip
        s.condition("Authenticated", Equals(Ref("EnableAuthentication"), "Yes"))
        actions = If("Authenticated", [oidc, forward], [forward])
    s.add(elb.ListenerRule("EndpointRule", ListenerArn=Ref(listener), Priority=1, Actions=actions,
                           Conditions=[elb.Condition(Field="path-pattern", PathPatternConfig=elb.PathPatternConfig(
                               Values=[Ref("ServerEndpointPath")]))]))  # fmt: skip

    repo = s.add(ecr.Repository("CollectorRepository", ImageScanningConfiguration=ecr.ImageScanningConfiguration(ScanOnPush=True),
                                ImageTagMutability="MUTABLE", EmptyOnDelete=True, Tags=s.tags()))  # fmt: skip
    cluster = s.add(ecs.Cluster("Cluster", ClusterSettings=[ecs.ClusterSetting(Name="containerInsights", Value="enabled")],
                                Tags=s.tags(**{"clickstream/infra": Ref("EcsInfraType"), "clickstream/warm-pool": Ref("WarmPoolSize"),
                                               "clickstream/sink": Ref("SinkType"), "clickstream/sdk": Ref("ClickStreamSDK")})))  # fmt: skip
    logs_group = s.log_group("CollectorLogs")
    sink_url, sink_statements, _ = _sink(s, ctx)
    task_role = s.role("CollectorTaskRole", service="ecs-tasks.amazonaws.com",
                       statements=sink_statements or [allow(["logs:PutLogEvents"], [GetAtt(logs_group, "Arn")])])  # fmt: skip
    execution_role = s.role("CollectorExecutionRole", service="ecs-tasks.amazonaws.com", statements=[
        allow(["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"], [GetAtt(repo, "Arn")]),
        allow(["ecr:GetAuthorizationToken"], ["*"]),
        allow(["logs:CreateLogStream", "logs:PutLogEvents"], [GetAtt(logs_group, "Arn")]),
    ])  # fmt: skip
    environment = {
        "COLLECTOR_SINK": Sub(sink_url) if "${" in sink_url else sink_url, "COLLECTOR_PROJECT_ID": Ref("ProjectId"), "COLLECTOR_APP_IDS": Ref("AppIds"),
        "COLLECTOR_PATH": Ref("ServerEndpointPath"), "COLLECTOR_CORS_ORIGINS": str(ctx.get("ingestion.cors_origins") or ""),
        "COLLECTOR_DEV_MODE": Ref("DevMode"),
        "COLLECTOR_TRUSTED_PROXIES": "10.0.0.0/8,172.16.0.0/12,192.168.0.0/16", "AWS_REGION": Ref("AWS::Region"),
    }  # fmt: skip
    if ctx.sink == "s3":
        environment |= {
            "COLLECTOR_BATCH_MAX_BYTES": Ref("S3BatchMaxBytes"),
            "COLLECTOR_BATCH_SECONDS": Ref("S3BatchTimeout"),
        }
    image = If("HasImage", Ref("CollectorImage"), Sub("${Repo}:latest", Repo=GetAtt(repo, "RepositoryUri")))
    task = s.add(ecs.TaskDefinition(
        "CollectorTask", Family=unique_name("clickstream-collector-${ProjectId}-${PipelineKey}"), NetworkMode="awsvpc",
        RequiresCompatibilities=["FARGATE" if ctx.fargate else "EC2"], Cpu="1024", Memory="2048",
        RuntimePlatform=ecs.RuntimePlatform(CpuArchitecture="ARM64", OperatingSystemFamily="LINUX"),
        ExecutionRoleArn=GetAtt(execution_role, "Arn"), TaskRoleArn=GetAtt(task_role, "Arn"),
        ContainerDefinitions=[ecs.ContainerDefinition(
            Name="collector", Image=image, Essential=True, StopTimeout=120 if ctx.fargate else Ref("WorkerStopTimeout"),
            PortMappings=[ecs.PortMapping(ContainerPort=PORT, Protocol="tcp")],
            Environment=[ecs.Environment(Name=k, Value=v) for k, v in sorted(environment.items())],
            LogConfiguration=ecs.LogConfiguration(LogDriver="awslogs", Options={
                "awslogs-group": Ref(logs_group), "awslogs-region": Ref("AWS::Region"), "awslogs-stream-prefix": "collector"}),
        )], Tags=s.tags()))  # fmt: skip
    service_props: dict[str, object] = {}
    if ctx.fargate:
        service_props["CapacityProviderStrategy"] = [
            ecs.CapacityProviderStrategyItem(CapacityProvider="FARGATE", Weight=1)
        ]
        s.add(ecs.ClusterCapacityProviderAssociations("CapacityProviders", Cluster=Ref(cluster), CapacityProviders=["FARGATE"],
              DefaultCapacityProviderStrategy=[ecs.CapacityProviderStrategy(CapacityProvider="FARGATE", Weight=1)]))  # fmt: skip
    else:
        provider = _ec2_capacity(s, cluster, ecs_sg)
        service_props["CapacityProviderStrategy"] = [
            ecs.CapacityProviderStrategyItem(CapacityProvider=Ref(provider), Weight=1)
        ]
    service = s.add(ecs.Service(
        "CollectorService", Cluster=Ref(cluster), TaskDefinition=Ref(task), DesiredCount=Ref("ServerMin"),
        DependsOn=["EndpointRule", "CapacityProviders"],
        NetworkConfiguration=ecs.NetworkConfiguration(AwsvpcConfiguration=ecs.AwsvpcConfiguration(
            Subnets=Ref("PrivateSubnetIds"), SecurityGroups=[Ref(ecs_sg)], AssignPublicIp="DISABLED")),
        LoadBalancers=[ecs.LoadBalancer(ContainerName="collector", ContainerPort=PORT, TargetGroupArn=Ref(target))],
        HealthCheckGracePeriodSeconds=60, EnableECSManagedTags=True, PropagateTags="SERVICE",
        DeploymentConfiguration=ecs.DeploymentConfiguration(MinimumHealthyPercent=100, MaximumPercent=200,
            DeploymentCircuitBreaker=ecs.DeploymentCircuitBreaker(Enable=True, Rollback=True)),
        Tags=s.tags(**{"clickstream/worker-stop-timeout": Ref("WorkerStopTimeout")}), **service_props))  # fmt: skip
    scalable = s.add(aas.ScalableTarget(
        "ServiceScaling", ServiceNamespace="ecs", ScalableDimension="ecs:service:DesiredCount",
        ResourceId=Sub("service/${Cluster}/${CollectorService.Name}"), MinCapacity=Ref("ServerMin"), MaxCapacity=Ref("ServerMax")))  # fmt: skip
    s.add(aas.ScalingPolicy("CpuScaling", PolicyName=Sub("clickstream-${ProjectId}-cpu"), PolicyType="TargetTrackingScaling",
        ScalingTargetId=Ref(scalable), TargetTrackingScalingPolicyConfiguration=aas.TargetTrackingScalingPolicyConfiguration(
            TargetValue=Ref("ScaleOnCpuUtilizationPercent"), ScaleInCooldown=300, ScaleOutCooldown=60,
            PredefinedMetricSpecification=aas.PredefinedMetricSpecification(PredefinedMetricType="ECSServiceAverageCPUUtilization"))))  # fmt: skip
    _alarms(s, cluster, service)

    dns = GetAtt(lb, "DNSName")
    if ctx.region in GLOBAL_ACCELERATOR_REGIONS:  # an update may turn it on or off
        s.condition("GlobalAccelerator", Equals(Ref("EnableGlobalAccelerator"), "Yes"))
        acc = s.add(ga.Accelerator("Accelerator", Condition="GlobalAccelerator", Enabled=True, IpAddressType="IPV4",
                                   Name=Sub("clickstream-${ProjectId}")))  # fmt: skip
        gl = s.add(ga.Listener("AcceleratorListener", Condition="GlobalAccelerator", AcceleratorArn=Ref(acc), Protocol="TCP",
                               PortRanges=[ga.PortRange(FromPort=p, ToPort=p) for p in ((80, 443) if https else (80,))]))  # fmt: skip
        s.add(ga.EndpointGroup("AcceleratorEndpoints", Condition="GlobalAccelerator", ListenerArn=Ref(gl),
                               EndpointGroupRegion=Ref("AWS::Region"), EndpointConfigurations=[ga.EndpointConfiguration(
                                   EndpointId=Ref(lb), ClientIPPreservationEnabled=True)]))  # fmt: skip
        dns = If("GlobalAccelerator", GetAtt(acc, "DnsName"), dns)
    scheme = "https" if https else "http"
    host = Ref("DomainName") if https else dns
    s.output("IngestionServerDNS", dns)
    s.output("IngestionServerURL", Join("", [f"{scheme}://", host, Ref("ServerEndpointPath")]))
    s.output("CollectorRepositoryUri", GetAtt(repo, "RepositoryUri"))
    # The collector takes the spec's comma list (COLLECTOR_CORS_ORIGINS); the contract's pattern form is reported.
    s.output(
        "ServerCorsOrigin", Ref("ServerCorsOrigin"), description="CORS origins (the original's pattern form)"
    )
    s.app_registry()
    return s


def _ec2_capacity(s: Stack, cluster: object, sg: object) -> object:
    """Auto Scaling group of ECS-optimised hosts (Graviton), with an optional warm pool, as a capacity provider."""
    host_role = s.role("HostRole", service="ec2.amazonaws.com", statements=[
        allow(["ecs:RegisterContainerInstance", "ecs:DeregisterContainerInstance", "ecs:SubmitContainerStateChange",
               "ecs:SubmitTaskStateChange", "ecs:SubmitAttachmentStateChanges"], [GetAtt(cluster, "Arn")]),
        allow(["ecs:Poll", "ecs:StartTelemetrySession", "ecs:UpdateContainerInstancesState", "ecs:PutAttributes"],
              [arn("ecs", "container-instance/${Cluster}/*")]),
        allow(["ecs:DiscoverPollEndpoint", "ecr:GetAuthorizationToken"], ["*"]),
    ])  # fmt: skip
    profile = s.add(iam.InstanceProfile("HostProfile", Roles=[Ref(host_role)]))
    s.param(
        "Ec2InstanceType", default="c6g.large", description="Instance type of the collector hosts (arm64)"
    )
    s.param("EcsAmiId", type="AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>", default=ECS_AMI)
    template = s.add(ec2.LaunchTemplate("HostTemplate", LaunchTemplateData=ec2.LaunchTemplateData(
        ImageId=Ref("EcsAmiId"), InstanceType=Ref("Ec2InstanceType"), SecurityGroupIds=[Ref(sg)],
        IamInstanceProfile=ec2.IamInstanceProfile(Arn=GetAtt(profile, "Arn")),
        MetadataOptions=ec2.MetadataOptions(HttpTokens="required", HttpPutResponseHopLimit=2),
        UserData=Base64(Sub("#!/bin/bash\necho ECS_CLUSTER=${Cluster} >> /etc/ecs/ecs.config\n"
                                    "echo ECS_WARM_POOL_CHECK=true >> /etc/ecs/ecs.config\n")))))  # fmt: skip
    group = s.add(autoscaling.AutoScalingGroup(
        "Hosts", MinSize=Ref("ServerMin"), MaxSize=Ref("ServerMax"), VPCZoneIdentifier=Ref("PrivateSubnetIds"),
        LaunchTemplate=autoscaling.LaunchTemplateSpecification(LaunchTemplateId=Ref(template), Version=GetAtt(template, "LatestVersionNumber")),
        NewInstancesProtectedFromScaleIn=False,
        Tags=[autoscaling.Tag("aws-solution/clickstream/project", Ref("ProjectId"), True)]))  # fmt: skip
    s.condition("HasWarmPool", Not(Equals(Ref("WarmPoolSize"), "0")))
    s.add(autoscaling.WarmPool("HostWarmPool", Condition="HasWarmPool", AutoScalingGroupName=Ref(group),
                               MinSize=Ref("WarmPoolSize"), PoolState="Stopped"))  # fmt: skip
    provider = s.add(ecs.CapacityProvider("HostCapacity", AutoScalingGroupProvider=ecs.AutoScalingGroupProvider(
        AutoScalingGroupArn=Ref(group), ManagedTerminationProtection="DISABLED",
        ManagedScaling=ecs.ManagedScaling(Status="ENABLED", TargetCapacity=100))))  # fmt: skip
    s.add(ecs.ClusterCapacityProviderAssociations("CapacityProviders", Cluster=Ref(cluster), CapacityProviders=[Ref(provider)],
          DefaultCapacityProviderStrategy=[ecs.CapacityProviderStrategy(CapacityProvider=Ref(provider), Weight=1)]))  # fmt: skip
    return provider


def _alarms(s: Stack, cluster: object, service: object) -> None:
    common = {
        "AlarmActions": [alarm_topic_arn()],
        "OKActions": [alarm_topic_arn()],
        "TreatMissingData": "notBreaching",
    }
    s.add(cloudwatch.Alarm("PendingTaskAlarm", AlarmName=alarm_name("ECS Pending Task Count"),
        AlarmDescription=Sub("Collectors waiting for capacity, project ${ProjectId}"),
        Namespace="ECS/ContainerInsights", MetricName="PendingTaskCount", Statistic="Average", Period=300,
        EvaluationPeriods=2, Threshold=1, ComparisonOperator="GreaterThanOrEqualToThreshold",
        Dimensions=[cloudwatch.MetricDimension(Name="ClusterName", Value=Ref(cluster)),
                    cloudwatch.MetricDimension(Name="ServiceName", Value=GetAtt(service, "Name"))], **common))  # fmt: skip
    s.add(cloudwatch.Alarm("CpuAlarm", AlarmName=alarm_name("ECS Cluster CPUUtilization"),
        AlarmDescription=Sub("Collector CPU above 85%, project ${ProjectId}"),
        Namespace="AWS/ECS", MetricName="CPUUtilization", Statistic="Average", Period=300, EvaluationPeriods=1,
        Threshold=85, ComparisonOperator="GreaterThanThreshold",
        Dimensions=[cloudwatch.MetricDimension(Name="ClusterName", Value=Ref(cluster))], **common))  # fmt: skip
