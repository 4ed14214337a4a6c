"""KafkaConnector: the MSK Connect S3 sink connector that moves the topic's records to the raw layout, its
custom plugin (from the plugin location), worker configuration and logs (spec/ingestion.md §3.4)."""

from __future__ import annotations

from troposphere import Base64, GetAtt, Ref, Sub
from troposphere import kafkaconnect as kc

from provisioning.aws.common import Stack, allow, arn, s3_list, s3_object_arn, unique_name
from provisioning.aws.context import RenderContext

PLUGIN_FILE = "confluentinc-kafka-connect-s3-10.5.13.zip"


def build(ctx: RenderContext) -> Stack:
    s = Stack("KafkaConnector", "MSK Connect S3 sink of the Kafka topic", ctx.bucket, ctx.asset_prefix)
    p = s.param
    p("ProjectId", pattern=r"^[a-z][a-z0-9_]{0,126}$")
    p("DataS3Bucket"), p("DataS3Prefix", pattern=r"^([^/].*/)?$")
    p("LogS3Bucket"), p("LogS3Prefix", pattern=r"^([^/].*/)?$")
    p("PluginS3Bucket"), p("PluginS3Prefix", pattern=r"^([^/].*/)?$")
    p("SubnetIds", type="List<AWS::EC2::Subnet::Id>")
    p("SecurityGroupId", type="AWS::EC2::SecurityGroup::Id")
    p("KafkaBrokers", description="Bootstrap brokers host:port, comma list")
    p("KafkaTopic")
    p("MskClusterName", default="")
    p("MaxWorkerCount", type="Number", default="3", min_value=1, max_value=10)
    p("MinWorkerCount", type="Number", default="1", min_value=1, max_value=10)
    p("WorkerMcuCount", type="Number", default="1", allowed=["1", "2", "4", "8"])
    p("RotateIntervalMS", type="Number", default="3000000", min_value=0, max_value=3000000)
    p("FlushSize", type="Number", default="50000", min_value=1, max_value=50000)
    p(
        "PluginFile",
        default=PLUGIN_FILE,
        description="Zip of the Confluent S3 sink connector under PluginS3Prefix",
    )
    group = s.log_group("ConnectorLogs")
    role = s.role("ConnectorRole", service="kafkaconnect.amazonaws.com", statements=[
        s3_list("DataS3Bucket", ["DataS3Prefix"]),
        allow(["s3:GetBucketLocation", "s3:ListBucketMultipartUploads"], [Sub("arn:${AWS::Partition}:s3:::${DataS3Bucket}")]),
        allow(["s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
              [s3_object_arn("DataS3Bucket", "DataS3Prefix")]),
        allow(["kafka-cluster:Connect", "kafka-cluster:DescribeCluster"], [arn("kafka", "cluster/${MskClusterName}/*")]),
        allow(["kafka-cluster:ReadData", "kafka-cluster:DescribeTopic"], [arn("kafka", "topic/${MskClusterName}/*/${KafkaTopic}")]),
        allow(["kafka-cluster:AlterGroup", "kafka-cluster:DescribeGroup"], [arn("kafka", "group/${MskClusterName}/*")]),
    ])  # fmt: skip
    plugin = s.add(kc.CustomPlugin("S3SinkPlugin", Name=unique_name("clickstream-s3-sink-${ProjectId}-${PipelineKey}-${AWS::Region}"), ContentType="ZIP",
        Location=kc.CustomPluginLocation(S3Location=kc.S3Location(
            BucketArn=Sub("arn:${AWS::Partition}:s3:::${PluginS3Bucket}"), FileKey=Sub("${PluginS3Prefix}${PluginFile}")))))  # fmt: skip
    worker = s.add(kc.WorkerConfiguration("WorkerConfiguration", Name=unique_name("clickstream-${ProjectId}-${PipelineKey}-${AWS::Region}"),
        PropertiesFileContent=Base64("key.converter=org.apache.kafka.connect.storage.StringConverter\n"
                               "value.converter=org.apache.kafka.connect.storage.StringConverter\n")))  # fmt: skip
    topics_dir = f"{ctx.base}data/buffer"  # the connector adds <topic>/year=…/ below it
    connector = s.add(kc.Connector(
        "Connector", ConnectorName=unique_name("clickstream-${ProjectId}-${PipelineKey}-s3-sink"), KafkaConnectVersion="2.7.1",
        ServiceExecutionRoleArn=GetAtt(role, "Arn"),
        Plugins=[kc.Plugin(CustomPlugin=kc.CustomPluginProperty(CustomPluginArn=GetAtt(plugin, "CustomPluginArn"), Revision=1))],
        WorkerConfiguration=kc.WorkerConfigurationProperty(WorkerConfigurationArn=GetAtt(worker, "WorkerConfigurationArn"), Revision=1),
        Capacity=kc.Capacity(AutoScaling=kc.AutoScaling(
            MaxWorkerCount=Ref("MaxWorkerCount"), MinWorkerCount=Ref("MinWorkerCount"), McuCount=Ref("WorkerMcuCount"),
            ScaleInPolicy=kc.ScaleInPolicy(CpuUtilizationPercentage=20), ScaleOutPolicy=kc.ScaleOutPolicy(CpuUtilizationPercentage=80))),
        KafkaCluster=kc.KafkaCluster(ApacheKafkaCluster=kc.ApacheKafkaCluster(
            BootstrapServers=Ref("KafkaBrokers"),
            Vpc=kc.Vpc(SecurityGroups=[Ref("SecurityGroupId")], Subnets=Ref("SubnetIds")))),
        KafkaClusterClientAuthentication=kc.KafkaClusterClientAuthentication(AuthenticationType="NONE"),
        KafkaClusterEncryptionInTransit=kc.KafkaClusterEncryptionInTransit(EncryptionType="PLAINTEXT"),
        LogDelivery=kc.LogDelivery(WorkerLogDelivery=kc.WorkerLogDelivery(
            CloudWatchLogs=kc.CloudWatchLogsLogDelivery(Enabled=True, LogGroup=Ref(group)),
            S3=kc.S3LogDelivery(Enabled=True, Bucket=Ref("LogS3Bucket"), Prefix=Ref("LogS3Prefix")))),
        ConnectorConfiguration={
            "connector.class": "io.confluent.connect.s3.S3SinkConnector", "tasks.max": "2",
            "topics": Ref("KafkaTopic"), "s3.region": Ref("AWS::Region"), "s3.bucket.name": Ref("DataS3Bucket"),
            "topics.dir": topics_dir, "flush.size": Ref("FlushSize"), "rotate.interval.ms": Ref("RotateIntervalMS"),
            "storage.class": "io.confluent.connect.s3.storage.S3Storage",
            "format.class": "io.confluent.connect.s3.format.json.JsonFormat", "s3.compression.type": "gzip",
            "partitioner.class": "io.confluent.connect.storage.partitioner.TimeBasedPartitioner",
            "path.format": "'year'=YYYY/'month'=MM/'day'=dd/'hour'=HH", "partition.duration.ms": "3600000",
            "locale": "en-US", "timezone": "UTC", "timestamp.extractor": "Record",
        }))  # fmt: skip
    s.output("MskConnectorArn", Ref(connector))
    s.app_registry()
    return s
