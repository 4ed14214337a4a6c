"""The wizard's form: flat fields grouped in the original's steps, turned into a spec and back.

The form holds no rules of its own beyond types: it builds the spec and hands it to the same
`pipeline_check` the API uses, then shows each problem on the field whose spec path it names (problems on
paths without a field of their own are shown at the top, with their path).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms

from pipelines.plugins import plugin_names
from pipelines.spec import PIPELINE_REGIONS, Problem, default_sink, default_spec, get
from portal.forms import Form


class IdListField(forms.CharField):
    """Ids typed comma-separated, or chosen in a multiple select a picker put in the field's place."""

    class Widget(forms.TextInput):
        def value_from_datadict(self, data: Any, files: Any, name: str) -> Any:
            values = data.getlist(name) if hasattr(data, "getlist") else [data.get(name, "")]
            return ",".join(v for v in values if v)

        def format_value(self, value: Any) -> str:
            return ",".join(value) if isinstance(value, list | tuple) else str(value or "")

    widget = Widget

    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]
        if isinstance(value, list | tuple):  # a disabled field's initial value
            return [str(v) for v in value]
        return [v.strip() for v in str(value or "").split(",") if v.strip()]


@dataclass(frozen=True)
class Step:
    key: str
    title: str
    fields: tuple[str, ...]


STEPS = (
    Step("basic", "1. Basic information", ("provider", "aws_account", "region", "data_collection_sdk", "vpc_id",
         "bucket_name", "bucket_prefix", "lake_dir", "tags")),
    Step("ingestion", "2. Data ingestion", ("network_type", "public_subnet_ids", "private_subnet_ids",
         "infra_type", "server_min", "server_max", "warm_pool_size", "scale_on_cpu_percent", "protocol",
         "http_acknowledged", "domain_name", "certificate_arn", "endpoint_path", "cors_origins",
         "global_accelerator", "access_logs", "authentication_secret_arn", "sink_type", "s3_buffer_size_mb",
         "s3_buffer_interval_seconds", "kinesis_stream_mode", "kinesis_shard_count", "kinesis_retention_hours",
         "kinesis_batch_size", "kinesis_batch_interval_seconds", "kafka_mode", "msk_cluster_arn", "kafka_brokers",
         "kafka_security_group_id", "kafka_topic", "kafka_batch_size", "kafka_batch_interval_seconds",
         "connector_enabled", "connector_min_workers", "connector_max_workers", "connector_worker_mcu",
         "streaming_enabled", "streaming_app_ids")),
    Step("processing", "3. Data processing and modeling", ("processing_enabled", "schedule",
         "data_freshness_hours", "output_format", "transformer", "enrichers", "athena", "redshift_mode",
         "data_range_days", "base_rpu", "redshift_vpc_id", "redshift_subnet_ids", "redshift_security_group_ids",
         "workgroup_name", "iam_role_arn", "cluster_identifier", "db_user")),
    Step("reporting", "4. Reporting", ("reporting_enabled", "quicksight_user_arn", "quicksight_namespace")),
)  # fmt: skip

# Form field → spec path, for the fields that map one to one (the rest are built in `spec()`).
PATHS = {
    "provider": "provider", "aws_account": "aws.account", "region": "aws.region",
    "data_collection_sdk": "data_collection_sdk", "vpc_id": "network.vpc_id", "bucket_name": "bucket.name",
    "bucket_prefix": "bucket.prefix", "lake_dir": "local.lake_dir", "network_type": "network.type",
    "public_subnet_ids": "network.public_subnet_ids", "private_subnet_ids": "network.private_subnet_ids",
    **{n: f"ingestion.{n}" for n in ("infra_type", "server_min", "server_max", "warm_pool_size",
       "scale_on_cpu_percent", "protocol", "http_acknowledged", "domain_name", "certificate_arn", "endpoint_path",
       "cors_origins", "global_accelerator", "access_logs", "authentication_secret_arn")},
    "sink_type": "ingestion.sink.type",
    "s3_buffer_size_mb": "ingestion.sink.s3.buffer_size_mb",
    "s3_buffer_interval_seconds": "ingestion.sink.s3.buffer_interval_seconds",
    **{f"kinesis_{n}": f"ingestion.sink.kinesis.{n}" for n in ("stream_mode", "shard_count", "retention_hours",
       "batch_size", "batch_interval_seconds")},
    "kafka_mode": "ingestion.sink.kafka.mode", "msk_cluster_arn": "ingestion.sink.kafka.msk_cluster_arn",
    "kafka_brokers": "ingestion.sink.kafka.brokers", "kafka_security_group_id": "ingestion.sink.kafka.security_group_id",
    "kafka_topic": "ingestion.sink.kafka.topic", "kafka_batch_size": "ingestion.sink.kafka.batch_size",
    "kafka_batch_interval_seconds": "ingestion.sink.kafka.batch_interval_seconds",
    **{f"connector_{n}": f"ingestion.sink.kafka.connector.{n}" for n in ("enabled", "min_workers", "max_workers",
       "worker_mcu")},
    "streaming_app_ids": "streaming.app_ids",
    **{n: f"processing.{n}" for n in ("schedule", "data_freshness_hours", "output_format", "transformer",
                                      "enrichers")},
    "athena": "modeling.athena", "redshift_mode": "modeling.redshift.mode",
    "base_rpu": "modeling.redshift.new_serverless.base_rpu", "redshift_vpc_id": "modeling.redshift.new_serverless.vpc_id",
    "redshift_subnet_ids": "modeling.redshift.new_serverless.subnet_ids",
    "redshift_security_group_ids": "modeling.redshift.new_serverless.security_group_ids",
    "workgroup_name": "modeling.redshift.existing_serverless.workgroup_name",
    "iam_role_arn": "modeling.redshift.existing_serverless.iam_role_arn",
    "cluster_identifier": "modeling.redshift.provisioned.cluster_identifier",
    "db_user": "modeling.redshift.provisioned.db_user",
    "quicksight_user_arn": "reporting.quicksight_user_arn", "quicksight_namespace": "reporting.namespace",
}  # fmt: skip
SECTION_FIELDS = {"processing": "processing_enabled", "modeling.redshift": "redshift_mode",
                  "reporting": "reporting_enabled", "streaming": "streaming_enabled", "tags": "tags",
                  "modeling": "athena", "modeling.redshift.data_range_minutes": "data_range_days"}  # fmt: skip
# Fields fixed after creation (the spec-level ones and those feeding parameters an update may not change).
FIXED_ON_UPDATE = ("provider", "aws_account", "region", "data_collection_sdk", "vpc_id", "network_type",
                   "public_subnet_ids", "private_subnet_ids", "infra_type", "sink_type", "kinesis_stream_mode",
                   "kafka_mode", "msk_cluster_arn", "redshift_mode", "redshift_vpc_id", "redshift_subnet_ids",
                   "redshift_security_group_ids", "lake_dir")  # fmt: skip

# Which fields show for which choice (the wizard hides the others; the spec ignores them anyway).
SHOWN_FOR: dict[str, str] = {
    **{n: "provider=aws" for s in STEPS[1:] for n in s.fields},
    **{n: "provider=aws" for n in ("aws_account", "region", "vpc_id", "bucket_name", "bucket_prefix")},
    "lake_dir": "provider=local",
    **{n: "sink_type=s3" for n in ("s3_buffer_size_mb", "s3_buffer_interval_seconds")},
    **{n: "sink_type=kinesis" for n in PATHS if n.startswith("kinesis_")},
    **{n: "sink_type=kafka" for n in PATHS if n.startswith(("kafka_", "connector_")) or n == "msk_cluster_arn"},
    **{n: "redshift_mode=new_serverless" for n in ("base_rpu", "redshift_vpc_id", "redshift_subnet_ids",
                                                    "redshift_security_group_ids")},
    **{n: "redshift_mode=existing_serverless" for n in ("workgroup_name", "iam_role_arn")},
    **{n: "redshift_mode=provisioned" for n in ("cluster_identifier", "db_user")},
}  # fmt: skip
for _name in (
    "processing_enabled",
    "schedule",
    "data_freshness_hours",
    "output_format",
    "transformer",
    "enrichers",
):
    SHOWN_FOR.pop(_name, None)  # processing is the local provider's too
# Fields whose values can be picked from the account's resources (look-up kind of `pipelines.lookups`).
PICKERS = {
    "region": "regions", "vpc_id": "vpcs", "bucket_name": "buckets", "public_subnet_ids": "subnets",
    "private_subnet_ids": "subnets", "certificate_arn": "certificates", "authentication_secret_arn": "secrets",
    "msk_cluster_arn": "msk_clusters", "kafka_security_group_id": "security_groups",
    "redshift_vpc_id": "vpcs", "redshift_subnet_ids": "subnets", "redshift_security_group_ids": "security_groups",
    "workgroup_name": "redshift_workgroups", "cluster_identifier": "redshift_clusters",
    "quicksight_user_arn": "quicksight_users",
}  # fmt: skip


def _defaults() -> dict[str, Any]:
    spec = default_spec(provider="aws", project_id="")
    spec["ingestion"]["sink"] = {k: v for kind in ("s3", "kafka", "kinesis")
                                 for k, v in default_sink(kind, project_id="").items() if k != "type"}  # fmt: skip
    spec["ingestion"]["sink"]["type"] = "kinesis"
    spec["modeling"]["redshift"] = {"new_serverless": {"base_rpu": 16}}
    spec["reporting"] = {"namespace": "default"}
    return spec


FORM_DEFAULTS = _defaults()


def _first(*values: Any) -> Any:
    return next((v for v in values if v is not None), None)


def _int(label: str, low: int, high: int, help_text: str = "") -> forms.IntegerField:
    return forms.IntegerField(label=label, required=False, help_text=help_text or f"{low}–{high}.")


def _text(label: str, help_text: str = "", **kw: Any) -> forms.CharField:
    return forms.CharField(label=label, required=False, help_text=help_text, **kw)


class PipelineForm(Form):
    provider = forms.ChoiceField(choices=[("local", "Local — this machine"), ("aws", "AWS — your account")],
                                 widget=forms.RadioSelect)  # fmt: skip
    aws_account = forms.ChoiceField(label="AWS account", required=False)
    region = forms.ChoiceField(label="AWS region", required=False, choices=[(r, r) for r in PIPELINE_REGIONS])
    data_collection_sdk = forms.ChoiceField(
        label="Data collection SDK",
        choices=[("clickstream", "Clickstream SDK"), ("thirdparty", "Third-party SDK")],
    )
    vpc_id = _text("VPC", "The VPC the ingestion fleet and processing run in.")
    bucket_name = _text("Data bucket", "S3 bucket in the pipeline's region, owned by the account.")
    bucket_prefix = _text("Bucket prefix", "Optional; ends with '/'.")
    lake_dir = _text("Lake folder", "Where raw and processed data are written on this machine.")
    tags = _text("Tags", "One key=value per line; added to every stack after the three built-in tags.",
                 widget=forms.Textarea(attrs={"rows": 2}))  # fmt: skip

    network_type = forms.ChoiceField(required=False, choices=[("General", "General"), ("Private", "Private")])
    public_subnet_ids = IdListField(
        label="Public subnets", required=False, help_text="At least two, in two zones."
    )
    private_subnet_ids = IdListField(
        label="Private subnets", required=False, help_text="At least two, same zones."
    )
    infra_type = forms.ChoiceField(label="Ingestion capacity", required=False,
                                   choices=[("EC2", "ECS on EC2"), ("Fargate", "ECS on Fargate")])  # fmt: skip
    server_min = _int("Minimum servers", 1, 10000)
    server_max = _int("Maximum servers", 2, 10000)
    warm_pool_size = _int("Warm pool (EC2)", 0, 10000, "0 up to the maximum; EC2 only.")
    scale_on_cpu_percent = _int("Scale at CPU %", 0, 100)
    protocol = forms.ChoiceField(required=False, choices=[("HTTPS", "HTTPS"), ("HTTP", "HTTP")])
    http_acknowledged = forms.BooleanField(
        label="I understand events travel unencrypted over HTTP", required=False
    )
    domain_name = _text("Domain name", "e.g. collect.example.com (HTTPS).")
    certificate_arn = _text("SSL certificate", "An issued ACM certificate for the domain.")
    endpoint_path = _text("Request path")
    cors_origins = _text("CORS origins", "Empty, '*', or a comma list of http(s)://host[:port].")
    global_accelerator = forms.BooleanField(label="AWS Global Accelerator", required=False)
    access_logs = forms.BooleanField(label="Load balancer access logs", required=False)
    authentication_secret_arn = _text("Authentication secret", "Secrets Manager ARN with the OIDC settings.")
    sink_type = forms.ChoiceField(label="Data sink", required=False,
                                  choices=[("kinesis", "Amazon Kinesis Data Streams"), ("kafka", "Apache Kafka"),
                                           ("s3", "Amazon S3")])  # fmt: skip
    s3_buffer_size_mb = _int("S3 buffer size (MB)", 1, 50)
    s3_buffer_interval_seconds = _int("S3 buffer interval (s)", 60, 3600, "60–3600 s (Fargate: up to 100).")
    kinesis_stream_mode = forms.ChoiceField(label="Kinesis provisioning", required=False,
                                            choices=[("ON_DEMAND", "On-demand"), ("PROVISIONED", "Provisioned")])  # fmt: skip
    kinesis_shard_count = _int("Shards", 1, 10000)
    kinesis_retention_hours = _int("Retention (hours)", 24, 8760)
    kinesis_batch_size = _int("Sink batch size", 1, 10000)
    kinesis_batch_interval_seconds = _int("Sink maximum interval (s)", 0, 300)
    kafka_mode = forms.ChoiceField(label="Kafka", required=False,
                                   choices=[("msk", "Amazon MSK"), ("self_hosted", "Self-hosted")])  # fmt: skip
    msk_cluster_arn = _text("MSK cluster")
    kafka_brokers = IdListField(label="Brokers", required=False, help_text="host:port, comma separated.")
    kafka_security_group_id = _text("Kafka security group")
    kafka_topic = _text("Topic", "Defaults to the project id.")
    kafka_batch_size = _int("Sink batch size", 1, 50000)
    kafka_batch_interval_seconds = _int("Sink maximum interval (s)", 0, 3000)
    connector_enabled = forms.BooleanField(label="Create the S3 connector", required=False)
    connector_min_workers = _int("Connector minimum workers", 1, 10)
    connector_max_workers = _int("Connector maximum workers", 1, 10)
    connector_worker_mcu = _int("Connector worker MCUs", 1, 8, "1, 2, 4 or 8.")
    streaming_enabled = forms.BooleanField(label="Real-time streaming", required=False)
    streaming_app_ids = IdListField(label="Streaming apps", required=False)

    processing_enabled = forms.BooleanField(label="Enable data processing", required=False)
    schedule = _text(
        "Processing interval", "rate(N minutes|hours|days) or cron(6 fields); at least 6 minutes."
    )
    data_freshness_hours = _int("Event freshness (hours)", 1, 87600, "Older events are dropped; 72 = 3 days.")
    output_format = forms.ChoiceField(required=False, choices=[("parquet", "Parquet"), ("json", "JSON")])
    transformer = forms.ChoiceField(required=False)
    enrichers = IdListField(label="Enrichers, in order", required=False)
    athena = forms.BooleanField(label="Athena", required=False)
    redshift_mode = forms.ChoiceField(label="Redshift", required=False, choices=[
        ("", "No Redshift"), ("new_serverless", "New Redshift Serverless"),
        ("existing_serverless", "Existing Redshift Serverless"), ("provisioned", "Provisioned cluster")])  # fmt: skip
    data_range_days = _int("Data range (days)", 1, 3650, "How long Redshift keeps events; 180 ≈ 6 months.")
    base_rpu = _int("Base RPU", 8, 512, "A multiple of 8 within the region's range.")
    redshift_vpc_id = _text("Redshift VPC")
    redshift_subnet_ids = IdListField(
        label="Redshift subnets", required=False, help_text="Three or more, in three zones."
    )
    redshift_security_group_ids = IdListField(label="Redshift security groups", required=False)
    workgroup_name = _text("Workgroup")
    iam_role_arn = _text("Redshift Data API role ARN")
    cluster_identifier = _text("Cluster")
    db_user = _text("Database user")

    reporting_enabled = forms.BooleanField(label="Create the sample dashboards in QuickSight", required=False)
    quicksight_user_arn = _text("QuickSight user ARN")
    quicksight_namespace = _text("QuickSight namespace")

    def __init__(
        self, *args: Any, accounts: list[tuple[str, str]], live: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["aws_account"].choices = [("", "—"), *accounts]  # type: ignore[attr-defined]
        self.fields["transformer"].choices = [(n, n) for n in plugin_names("transformer")]  # type: ignore[attr-defined]
        self.fields["enrichers"].help_text = "Installed: " + ", ".join(plugin_names("enricher")) + "."
        if live:
            for name in FIXED_ON_UPDATE:
                self.fields[name].disabled = True
                self.fields[name].help_text = "Fixed after creation."

    @classmethod
    def initial_from(cls, spec: dict[str, Any]) -> dict[str, Any]:
        """The form's initial values for a spec (the defaults, or the live version being edited); fields the
        spec does not use start at their defaults, so switching a sink or mode in the form finds them."""
        initial = {name: _first(get(spec, path), get(FORM_DEFAULTS, path)) for name, path in PATHS.items()}
        initial.update(
            tags="\n".join(f"{t['key']}={t['value']}" for t in spec.get("tags") or []),
            processing_enabled=spec.get("processing") is not None,
            streaming_enabled=spec.get("streaming") is not None,
            reporting_enabled=spec.get("reporting") is not None,
            redshift_mode=get(spec, "modeling.redshift.mode") or "",
            data_range_days=int(get(spec, "modeling.redshift.data_range_minutes") or 259200) // 1440,
            lake_dir=get(spec, "local.lake_dir") or "var/lake",
        )
        return initial

    def spec(self, *, project_id: str) -> dict[str, Any]:
        """The spec these (cleaned) values describe; types are the form's, rules are the spec's."""
        d = self.cleaned_data
        provider = d.get("provider") or "local"
        spec = default_spec(provider=provider, project_id=project_id)
        spec["data_collection_sdk"] = d.get("data_collection_sdk")
        spec["tags"] = _tags(d.get("tags") or "")
        processing = None
        if d.get("processing_enabled"):
            processing = {
                k: d.get(k) for k in ("schedule", "data_freshness_hours", "output_format", "transformer")
            }
            processing["enrichers"] = d.get("enrichers") or []
        spec["processing"] = processing
        if provider == "local":
            spec["local"] = {"lake_dir": d.get("lake_dir")}
            return spec
        for name, path in PATHS.items():
            if path.split(".")[0] in ("aws", "network", "bucket") or (
                path.startswith("ingestion.") and not path.startswith("ingestion.sink")
            ):
                _set(spec, path, d.get(name))
        if d.get("network_type") == "Private":
            spec["network"]["public_subnet_ids"] = []
        spec["ingestion"]["sink"] = self._sink(project_id)
        spec["modeling"] = self._modeling() if processing else None
        spec["reporting"] = (
            {"quicksight_user_arn": d.get("quicksight_user_arn") or "", "namespace": d.get("quicksight_namespace") or "default"}
            if d.get("reporting_enabled") else None
        )  # fmt: skip
        spec["streaming"] = (
            {"app_ids": d.get("streaming_app_ids") or [], "retention_hours": d.get("kinesis_retention_hours") or 24}
            if d.get("streaming_enabled") else None
        )  # fmt: skip
        return spec

    def _sink(self, project_id: str) -> dict[str, Any]:
        d = self.cleaned_data
        kind = d.get("sink_type") or "kinesis"
        sink = default_sink(kind, project_id=project_id)
        for name, path in PATHS.items():
            if path.startswith(f"ingestion.sink.{kind}."):
                _set(sink, path.removeprefix("ingestion.sink."), d.get(name))
        if kind == "kafka":
            kafka = sink["kafka"]
            kafka["topic"] = kafka.get("topic") or project_id
            if kafka["mode"] == "msk":
                kafka["brokers"] = []
            else:
                kafka["msk_cluster_arn"] = ""
        return sink

    def _modeling(self) -> dict[str, Any]:
        d = self.cleaned_data
        mode = d.get("redshift_mode")
        redshift = None
        if mode:
            redshift = {"mode": mode, "data_range_minutes": (d.get("data_range_days") or 0) * 1440}
            redshift[mode] = {}
            for name, path in PATHS.items():
                if path.startswith(f"modeling.redshift.{mode}."):
                    redshift[mode][path.rsplit(".", 1)[1]] = d.get(name)
        return {"athena": bool(d.get("athena")), "redshift": redshift}

    def add_problems(self, problems: list[Problem]) -> None:
        """Show each problem on the field its path names (or the closest section), else at the top."""
        by_path = {path: name for name, path in PATHS.items()} | {p: n for p, n in SECTION_FIELDS.items()}
        for problem in problems:
            name = _field_for(problem.path, by_path)
            if name and name in self.fields and not self.fields[name].disabled:
                self.add_error(name, problem.message)
            else:
                self.add_error(None, f"{problem.path or 'spec'}: {problem.message}")


def _field_for(path: str, by_path: dict[str, str]) -> str | None:
    while path:
        if path in by_path:
            return by_path[path]
        if path.startswith("tags."):
            return "tags"
        path = path.rpartition(".")[0]
    return None


def _set(spec: dict[str, Any], path: str, value: Any) -> None:
    keys = path.split(".")
    node = spec
    for key in keys[:-1]:
        node = node.setdefault(key, {})
    node[keys[-1]] = "" if value is None and not keys[-1].endswith(("_ids", "brokers")) else value


def _tags(text: str) -> list[dict[str, str]]:
    tags = []
    for line in text.splitlines():
        if line.strip():
            key, _, value = line.partition("=")
            tags.append({"key": key.strip(), "value": value.strip()})
    return tags
