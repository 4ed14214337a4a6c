"""The pipeline spec: a versioned JSON document, one section per module, and every rule it must satisfy.

The spec is what a pipeline *should* be; providers (local, aws) read it and make it real. It is stored as
JSON on `PipelineVersion.spec` so a provider can add what it needs to read without a new database shape.
`validate()` is the one source of rules: the wizard's form, the API and Django admin all call it, and it
reports every problem at once, each on the dotted path of its field (`ingestion.sink.kinesis.shard_count`).

Rules follow `spec/control-plane.md` §1.4, §3.2, §3.14 and appendix A. Where the original is lax or
surprising we are strict and say so: a user tag with a built-in key is refused instead of silently replaced
(§3.15), and the RPU and subnet rules are the server's, not the laxer UI's.
"""

from __future__ import annotations

import copy
import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

SCHEMA_VERSION = 1
PROVIDERS = ("aws", "local")

PIPELINE_REGIONS = [
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
    "ap-southeast-3",
    "ca-central-1",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-south-1",
    "sa-east-1",
    "af-south-1",
    "me-central-1",
    "me-south-1",
    "cn-north-1",
    "cn-northwest-1",
]

# Redshift Serverless base capacity per region (ServerlessRedshiftRPUByRegionMapping); absent = unsupported.
_RPU_MIN_8 = "us-east-1 us-east-2 us-west-2 ap-northeast-1 ap-southeast-1 ap-southeast-2 eu-central-1 eu-west-1 cn-north-1 cn-northwest-1"
_RPU_MIN_32 = "ap-northeast-2 ap-south-1 ca-central-1 eu-north-1 eu-west-2 eu-west-3 us-west-1"
RPU_RANGE: dict[str, tuple[int, int]] = {
    **{r: (8, 512) for r in _RPU_MIN_8.split()},
    **{r: (32, 512) for r in _RPU_MIN_32.split()},
}

BUILTIN_TAG_KEYS = ("aws-solution/name", "aws-solution/version", "aws-solution/clickstream/project")

# Appendix A, applied as full matches.
_DOMAIN = r"[a-z0-9A-Z#$&@_%~\*\.\-]+\.[a-zA-Z]{2,63}"
_IP = r"((2(5[0-5]|[0-4]\d))|[0-1]?\d{1,2})(\.((2(5[0-5]|[0-4]\d))|[0-1]?\d{1,2})){3}"
_LABEL = r"[a-zA-Z0-9][-a-zA-Z0-9]{0,62}"
_ORIGIN = rf"(https?:\/\/){{1}}(localhost|{_IP}|(?:\*\.)?{_LABEL}(\.{_LABEL})+\.?)(:[0-9]{{2,5}})?"
PATTERNS = {
    "vpc_id": r"vpc-[a-f0-9]+",
    "subnet_id": r"subnet-[a-f0-9]+",
    "security_group_id": r"sg-[a-f0-9]+",
    "domain_name": _DOMAIN,
    "broker": rf"({_DOMAIN}|{_IP})(:[0-9]+)",
    "kafka_topic": r"[a-zA-Z0-9_\-\.]+",
    "bucket": r"[a-z0-9\.\-]{3,63}",
    "prefix": r"|[^/].*/",
    "cors": rf"|\*|{_ORIGIN}(,\s*{_ORIGIN})*",
    "redshift_name": r"([a-zA-Z][a-zA-Z0-9-_]{1,63})?",
    "secret_arn": r"arn:aws(-cn|-us-gov)?:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[a-zA-Z0-9-\/]+",
    "certificate_arn": r"arn:aws(-cn|-us-gov)?:acm:[a-z0-9-]+:[0-9]{12}:certificate\/[a-zA-Z0-9-]+",
    "msk_arn": r"arn:aws(-cn|-us-gov)?:kafka:[a-z0-9-]+:[0-9]{12}:cluster\/.+",
    "iam_role_arn": r"arn:aws(-cn|-us-gov)?:iam::[0-9]{12}:role\/[\w+=,.@\-\/]+",
    "quicksight_user_arn": r"arn:aws(-cn|-us-gov)?:quicksight:[a-z0-9-]+:[0-9]{12}:user\/[A-Za-z][A-Za-z0-9]{0,63}\/[A-Za-z0-9][A-Za-z0-9\/_@.\-]+[A-Za-z0-9]",
    "quicksight_namespace": r"[A-Za-z][A-Za-z0-9]{4,63}",
    "endpoint_path": r"\/[a-zA-Z0-9_\-\/\.]*",
    "schedule": r"(rate\(\s*\d+\s+(hour|minute|day)s?\s*\))|(cron\(.*\))",
    "lake_dir": r"[^\0]+",
}
AUTH_SECRET_KEYS = (
    "issuer",
    "userEndpoint",
    "authorizationEndpoint",
    "tokenEndpoint",
    "appClientId",
    "appClientSecret",
)


def matches(kind: str, value: Any) -> bool:
    return isinstance(value, str) and re.fullmatch(PATTERNS[kind], value) is not None


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a spec, on the dotted path of the field a person must change."""

    path: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message}


@dataclass(frozen=True)
class Context:
    """What validation knows beyond the document: the project, its apps, the installed plugins, and (when
    an account look-up already ran) the availability zones of the chosen subnets."""

    project_id: str
    app_ids: tuple[str, ...] = ()
    transformers: tuple[str, ...] = ("clickstream", "gtm", "sensors")
    enrichers: tuple[str, ...] = ("traffic", "ua", "geo")
    subnet_azs: dict[str, str] = field(default_factory=dict)
    region_az_count: int | None = None
    aws_accounts: tuple[str, ...] | None = (
        None  # ids of the organization's connected accounts (None: unknown)
    )


class SpecError(ValueError):
    """Raised by services when a spec does not validate; carries every problem."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(f"{p.path}: {p.message}" for p in problems))
        self.problems = problems


# --- defaults -------------------------------------------------------------------------------------------


def default_spec(*, provider: str, project_id: str) -> dict[str, Any]:
    """A new pipeline's spec with the original wizard's defaults (§7.1); the form starts from it."""
    processing = {
        "schedule": "rate(1 hour)",
        "data_freshness_hours": 72,
        "output_format": "parquet",
        "transformer": "clickstream",
        "enrichers": ["traffic", "ua", "geo"],
    }
    if provider == "local":
        return {
            "schema_version": SCHEMA_VERSION,
            "provider": "local",
            "data_collection_sdk": "clickstream",
            "local": {"lake_dir": "var/lake"},
            "processing": processing,
            "tags": [],
        }
    return {
        "schema_version": SCHEMA_VERSION,
        "provider": "aws",
        "aws": {"account": "", "region": "us-east-1"},
        "data_collection_sdk": "clickstream",
        "network": {"vpc_id": "", "public_subnet_ids": [], "private_subnet_ids": [], "type": "General"},
        "bucket": {"name": "", "prefix": ""},
        "ingestion": {
            "infra_type": "EC2",
            "server_min": 2,
            "server_max": 4,
            "warm_pool_size": 0,
            "scale_on_cpu_percent": 50,
            "protocol": "HTTPS",
            "http_acknowledged": False,
            "domain_name": "",
            "certificate_arn": "",
            "endpoint_path": "/collect",
            "cors_origins": "",
            "global_accelerator": False,
            "access_logs": False,
            "authentication_secret_arn": "",
            "sink": default_sink("kinesis", project_id=project_id),
        },
        "processing": processing,
        "modeling": {"athena": False, "redshift": None},
        "reporting": None,
        "streaming": None,
        "tags": [],
    }


def default_sink(kind: str, *, project_id: str) -> dict[str, Any]:
    if kind == "s3":
        return {"type": "s3", "s3": {"buffer_size_mb": 10, "buffer_interval_seconds": 60}}
    if kind == "kafka":
        return {
            "type": "kafka",
            "kafka": {
                "mode": "msk",
                "msk_cluster_arn": "",
                "brokers": [],
                "topic": project_id,
                "security_group_id": "",
                "batch_size": 5000,
                "batch_interval_seconds": 300,
                "connector": {"enabled": True, "min_workers": 1, "max_workers": 3, "worker_mcu": 1},
            },
        }
    return {
        "type": "kinesis",
        "kinesis": {
            "stream_mode": "ON_DEMAND",
            "shard_count": 2,
            "retention_hours": 24,
            "batch_size": 10000,
            "batch_interval_seconds": 300,
        },
    }


# --- reading helpers ------------------------------------------------------------------------------------


def get(spec: Any, path: str, default: Any = None) -> Any:
    """The value at a dotted path, or `default` when any step is missing or not an object."""
    node = spec
    for key in path.split("."):
        if not isinstance(node, dict) or key not in node:
            return default
        node = node[key]
    return node


def flatten(spec: Any, prefix: str = "") -> dict[str, Any]:
    """Leaf values by dotted path (lists are leaves): what diffs and allow-lists compare."""
    if not isinstance(spec, dict):
        return {prefix: spec} if prefix else {}
    out: dict[str, Any] = {}
    for key, value in spec.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict) and value:
            out.update(flatten(value, path))
        else:
            out[path] = value
    return out


def diff(old: dict[str, Any], new: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """Field-by-field changes `(path, old, new)`, sorted by path; a missing side is None."""
    a, b = flatten(old), flatten(new)
    return [(p, a.get(p), b.get(p)) for p in sorted(set(a) | set(b)) if a.get(p) != b.get(p)]


def normalized(spec: dict[str, Any]) -> dict[str, Any]:
    """A copy with empty optional sections as None and prefixes defaulted, so equal intent compares equal."""
    spec = copy.deepcopy(spec)
    for section in ("processing", "modeling", "reporting", "streaming"):
        if section in spec and spec[section] in ({}, ""):
            spec[section] = None
    bucket = spec.get("bucket")
    if isinstance(bucket, dict) and bucket.get("prefix") == "/":
        bucket["prefix"] = ""
    return spec


# --- validation -----------------------------------------------------------------------------------------


class _Checker:
    """Collects problems; each check names its path, so one pass reports everything."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.problems: list[Problem] = []

    def add(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message))

    def value(self, path: str, default: Any = None) -> Any:
        return get(self.spec, path, default)

    def object(self, path: str, *, required: bool = True) -> dict[str, Any] | None:
        value = self.value(path)
        if value is None and not required:
            return None
        if not isinstance(value, dict):
            self.add(
                path, "Required: give this section as an object." if value is None else "Must be an object."
            )
            return None
        return value

    def choice(self, path: str, choices: Iterable[str]) -> str | None:
        value, choices = self.value(path), tuple(choices)
        if value not in choices:
            self.add(path, f"Choose one of {', '.join(choices)}" + (f" (got {value!r})." if value else "."))
            return None
        return str(value)

    def integer(self, path: str, low: int, high: int, *, multiple: int = 1) -> int | None:
        value = self.value(path)
        if isinstance(value, bool) or not isinstance(value, int):
            self.add(path, f"Give a whole number from {low} to {high}.")
            return None
        if not low <= value <= high:
            self.add(path, f"Must be from {low} to {high} (got {value}).")
            return None
        if value % multiple:
            self.add(path, f"Must be a multiple of {multiple} (got {value}).")
            return None
        return value

    def boolean(self, path: str) -> bool:
        value = self.value(path, False)
        if not isinstance(value, bool):
            self.add(path, "Must be true or false.")
            return False
        return value

    def pattern(self, path: str, kind: str, *, required: bool = True, hint: str = "") -> str:
        value = self.value(path, "")
        if value in ("", None):
            if required:
                self.add(path, "Required.")
            return ""
        if not matches(kind, value):
            self.add(path, f"{value!r} is not valid{': ' + hint if hint else '.'}")
            return ""
        return str(value)

    def id_list(self, path: str, kind: str, *, minimum: int, what: str) -> list[str]:
        value = self.value(path, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.add(path, f"Give a list of {what} ids.")
            return []
        bad = [v for v in value if not matches(kind, v)]
        if bad:
            self.add(path, f"Not {what} ids: {', '.join(bad)}.")
        if len(set(value)) != len(value):
            self.add(path, f"A {what} is listed twice.")
        if len(value) < minimum:
            self.add(path, f"Choose at least {minimum} {what}s.")
        return [v for v in value if v not in bad]


ALLOWED_KEYS = {
    "": {"schema_version", "provider", "aws", "data_collection_sdk", "network", "bucket", "ingestion",
         "processing", "modeling", "reporting", "streaming", "tags", "local"},
}  # fmt: skip
AWS_ONLY = ("aws", "network", "bucket", "ingestion", "reporting", "streaming")


def validate(spec: Any, *, ctx: Context) -> list[Problem]:
    """Every problem of `spec`, field and cross-field, in one list (empty = valid)."""
    if not isinstance(spec, dict):
        return [Problem("", "The pipeline spec must be a JSON object.")]
    c = _Checker(spec)
    for key in sorted(set(spec) - ALLOWED_KEYS[""]):
        c.add(key, "Unknown section.")
    if spec.get("schema_version") != SCHEMA_VERSION:
        c.add("schema_version", f"This portal reads schema version {SCHEMA_VERSION}.")
    provider = c.choice("provider", PROVIDERS)
    sdk = c.choice("data_collection_sdk", ("clickstream", "thirdparty"))
    _check_tags(c)
    if provider == "local":
        for key in AWS_ONLY:
            if spec.get(key) is not None:
                c.add(key, "The local provider runs on this machine: it has no AWS account, network or sink.")
        if c.object("local") is not None:
            c.pattern("local.lake_dir", "lake_dir")
        _check_processing(c, sdk, ctx)
        if spec.get("modeling") is not None:
            c.add("modeling", "The local provider models into its own DuckDB warehouse; leave this empty.")
    elif provider == "aws":
        if spec.get("local") is not None:
            c.add("local", "Only the local provider has a lake folder; the aws provider uses the bucket.")
        region = None
        if c.object("aws") is not None:
            region = c.choice("aws.region", PIPELINE_REGIONS)
            account = c.value("aws.account", "")
            if ctx.aws_accounts is not None and account not in ctx.aws_accounts:
                c.add(
                    "aws.account",
                    "Choose one of the organization's connected AWS accounts."
                    if ctx.aws_accounts
                    else "Connect an AWS account first, or choose the local provider.",
                )
        _check_network(c, ctx)
        if c.object("bucket") is not None:
            c.pattern("bucket.name", "bucket", hint="3–63 lowercase letters, digits, dots and hyphens.")
            c.pattern("bucket.prefix", "prefix", required=False, hint="end it with '/', not start with one.")
        _check_ingestion(c)
        _check_processing(c, sdk, ctx)
        _check_modeling(c, region, ctx)
        _check_reporting(c, ctx)
        _check_streaming(c, sdk, ctx)
    return c.problems


def _check_tags(c: _Checker) -> None:
    tags = c.value("tags", [])
    if not isinstance(tags, list):
        c.add("tags", "Give a list of {key, value} objects.")
        return
    seen: set[str] = set()
    for i, tag in enumerate(tags):
        path = f"tags.{i}"
        if not isinstance(tag, dict) or set(tag) != {"key", "value"}:
            c.add(path, "Each tag is an object with a key and a value.")
            continue
        key, value = tag["key"], tag["value"]
        if not isinstance(key, str) or not key.strip() or len(key) > 128:
            c.add(f"{path}.key", "Give a key of 1–128 characters.")
        elif key in BUILTIN_TAG_KEYS:
            c.add(f"{path}.key", f"{key} is set by the portal on every stack; choose another key.")
        elif key.startswith("aws:"):
            c.add(f"{path}.key", "Keys starting with 'aws:' are reserved by AWS.")
        elif key in seen:
            c.add(f"{path}.key", f"The key {key} is used twice.")
        seen.add(key if isinstance(key, str) else "")
        if not isinstance(value, str) or not value.strip() or len(value) > 256:
            c.add(f"{path}.value", "Give a value of 1–256 characters.")


def _check_network(c: _Checker, ctx: Context) -> None:
    if c.object("network") is None:
        return
    c.pattern("network.vpc_id", "vpc_id")
    kind = c.choice("network.type", ("General", "Private"))
    private = c.id_list("network.private_subnet_ids", "subnet_id", minimum=2, what="private subnet")
    public: list[str] = []
    if kind == "General":
        public = c.id_list("network.public_subnet_ids", "subnet_id", minimum=2, what="public subnet")
    elif c.value("network.public_subnet_ids"):
        c.add("network.public_subnet_ids", "A private network has no public subnets; leave this empty.")
    if set(public) & set(private):
        c.add("network.private_subnet_ids", "A subnet cannot be both public and private.")
    if ctx.subnet_azs:
        private_azs = {ctx.subnet_azs[s] for s in private if s in ctx.subnet_azs}
        public_azs = {ctx.subnet_azs[s] for s in public if s in ctx.subnet_azs}
        if private and len(private_azs) < 2:
            c.add(
                "network.private_subnet_ids",
                "The private subnets must be in at least two availability zones.",
            )
        if public and len(public_azs) < 2:
            c.add(
                "network.public_subnet_ids", "The public subnets must be in at least two availability zones."
            )
        if public and private and public_azs != private_azs:
            c.add(
                "network.public_subnet_ids",
                f"Public subnets cover {', '.join(sorted(public_azs))} but private ones cover "
                f"{', '.join(sorted(private_azs))}; the load balancer needs the same zones.",
            )


def _check_ingestion(c: _Checker) -> None:
    if c.object("ingestion") is None:
        return
    p = "ingestion."
    infra = c.choice(p + "infra_type", ("EC2", "Fargate"))
    low = c.integer(p + "server_min", 1, 10000)
    high = c.integer(p + "server_max", 2, 10000)
    if high is not None and low is not None and high < low:
        c.add(p + "server_max", f"Must be at least the minimum ({low}).")
    warm = c.integer(p + "warm_pool_size", 0, high or 10000)
    if infra == "Fargate" and warm:
        c.add(p + "warm_pool_size", "Fargate has no warm pool; set 0 or use EC2.")
    c.integer(p + "scale_on_cpu_percent", 0, 100)
    protocol = c.choice(p + "protocol", ("HTTPS", "HTTP"))
    if protocol == "HTTPS":
        c.pattern(p + "domain_name", "domain_name", hint="e.g. collect.example.com.")
        c.pattern(p + "certificate_arn", "certificate_arn", hint="choose an ACM certificate.")
    elif protocol == "HTTP":
        if not c.boolean(p + "http_acknowledged"):
            c.add(p + "http_acknowledged", "Acknowledge that events will travel unencrypted over HTTP.")
        for key in ("domain_name", "certificate_arn"):
            if c.value(p + key):
                c.add(p + key, "Only HTTPS uses a domain and certificate; clear it or choose HTTPS.")
    c.pattern(p + "endpoint_path", "endpoint_path", hint="a path such as /collect.")
    c.pattern(
        p + "cors_origins", "cors", required=False, hint="'*' or a comma list of http(s)://host[:port]."
    )
    c.boolean(p + "global_accelerator")
    c.boolean(p + "access_logs")
    if c.pattern(p + "authentication_secret_arn", "secret_arn", required=False) and protocol != "HTTPS":
        c.add(
            p + "authentication_secret_arn",
            "Authentication needs HTTPS: the secret's tokens must not travel in clear.",
        )
    _check_sink(c, infra)


def _check_sink(c: _Checker, infra: str | None) -> None:
    p = "ingestion.sink."
    if c.object("ingestion.sink") is None:
        return
    kind = c.choice(p + "type", ("s3", "kinesis", "kafka"))
    for other in {"s3", "kinesis", "kafka"} - {kind or ""}:
        if c.value(p + other) is not None:
            c.add(p + other, f"Only the settings of the chosen sink ({kind}) belong here.")
    if kind is None or c.object(p + kind) is None:
        return
    p += f"{kind}."
    if kind == "s3":
        c.integer(p + "buffer_size_mb", 1, 50)
        c.integer(p + "buffer_interval_seconds", 60, 100 if infra == "Fargate" else 3600)
    elif kind == "kinesis":
        mode = c.choice(p + "stream_mode", ("ON_DEMAND", "PROVISIONED"))
        if mode == "PROVISIONED":
            c.integer(p + "shard_count", 1, 10000)
        c.integer(p + "retention_hours", 24, 8760)
        c.integer(p + "batch_size", 1, 10000)
        c.integer(p + "batch_interval_seconds", 0, 300)
    elif kind == "kafka":
        _check_kafka(c, p)


def _check_kafka(c: _Checker, p: str) -> None:
    mode = c.choice(p + "mode", ("msk", "self_hosted"))
    if mode == "msk":
        c.pattern(p + "msk_cluster_arn", "msk_arn", hint="choose an MSK cluster.")
    elif mode == "self_hosted":
        brokers = c.value(p + "brokers", [])
        if not isinstance(brokers, list) or not brokers:
            c.add(p + "brokers", "Give the brokers as host:port entries.")
        else:
            bad = [b for b in brokers if not matches("broker", b)]
            if bad:
                c.add(p + "brokers", f"Not host:port: {', '.join(map(str, bad))}.")
        c.pattern(p + "security_group_id", "security_group_id")
    c.pattern(p + "topic", "kafka_topic", required=False, hint="letters, digits, '_', '-' and '.'.")
    c.integer(p + "batch_size", 1, 50000)
    c.integer(p + "batch_interval_seconds", 0, 3000)
    if c.object(p + "connector") is not None and c.boolean(p + "connector.enabled"):
        low = c.integer(p + "connector.min_workers", 1, 10)
        high = c.integer(p + "connector.max_workers", 1, 10)
        if low is not None and high is not None and high < low:
            c.add(p + "connector.max_workers", f"Must be at least the minimum ({low}).")
        if c.value(p + "connector.worker_mcu") not in (1, 2, 4, 8):
            c.add(p + "connector.worker_mcu", "Choose 1, 2, 4 or 8 MSK Connect units.")


def kafka_without_connector(spec: dict[str, Any]) -> bool:
    """Data sent to Kafka without the S3 connector never reaches the lake, so nothing can process it."""
    return get(spec, "ingestion.sink.type") == "kafka" and not get(
        spec, "ingestion.sink.kafka.connector.enabled"
    )


def _check_processing(c: _Checker, sdk: str | None, ctx: Context) -> None:
    processing = c.object("processing", required=False)
    if processing is None:
        if sdk == "thirdparty":
            c.add("processing", "Third-party SDK data must be processed by a transformer; enable processing.")
        return
    p = "processing."
    check_schedule(c, p + "schedule")
    c.integer(p + "data_freshness_hours", 1, 24 * 3650)
    c.choice(p + "output_format", ("parquet", "json"))
    transformer = c.value(p + "transformer", "")
    if transformer not in ctx.transformers:
        c.add(
            p + "transformer",
            "Third-party SDK data needs a transformer; choose one."
            if sdk == "thirdparty" and not transformer
            else f"Choose an installed transformer: {', '.join(ctx.transformers)}.",
        )
    elif sdk == "thirdparty" and transformer == "clickstream":
        c.add(
            p + "transformer",
            "The clickstream transformer reads Clickstream SDK data only; choose the one for your SDK.",
        )
    enrichers = c.value(p + "enrichers", [])
    if not isinstance(enrichers, list):
        c.add(p + "enrichers", "Give a list of enricher names, in the order they run.")
    else:
        unknown = [e for e in enrichers if e not in ctx.enrichers]
        if unknown:
            c.add(p + "enrichers", f"Not installed enrichers: {', '.join(map(str, unknown))}.")
        if len(set(map(str, enrichers))) != len(enrichers):
            c.add(p + "enrichers", "An enricher is listed twice.")
    if kafka_without_connector(c.spec):
        c.add(
            p[:-1],
            "Kafka data reaches the lake only through the S3 connector; enable it or turn processing off.",
        )


def check_schedule(c: _Checker, path: str) -> None:
    value = c.value(path, "")
    if not matches("schedule", value):
        c.add(path, "Give rate(N minutes|hours|days) or cron(6 fields).")
        return
    rate = re.fullmatch(r"rate\(\s*(\d+)\s+(hour|minute|day)s?\s*\)", value)
    if rate:
        minutes = int(rate.group(1)) * {"minute": 1, "hour": 60, "day": 1440}[rate.group(2)]
        if minutes < 6:
            c.add(path, "The minimum interval of data processing is 6 minutes.")
        return
    problem = cron_problem(value[5:-1])
    if problem:
        c.add(path, problem)


# --- cron (the EventBridge dialect: minutes hours day-of-month month day-of-week year) --------------------

_MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
_DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]
_CRON_FIELDS = (("minutes", 0, 59), ("hours", 0, 23), ("day-of-month", 1, 31), ("month", 1, 12),
                ("day-of-week", 1, 7), ("year", 1970, 2199))  # fmt: skip


def _cron_values(text: str, name: str, low: int, high: int) -> set[int] | str:
    """The values a field allows, or a message. `?`, L, W and # (day fields) allow every value here."""
    if text in ("*", "?"):
        return set(range(low, high + 1))
    if name.startswith("day") and re.fullmatch(r"[0-9A-Z,\-/#LW?]+", text) and re.search("[LW#]", text):
        return set(range(low, high + 1))
    names = _MONTHS if name == "month" else _DAYS if name == "day-of-week" else []
    values: set[int] = set()
    for part in text.split(","):
        m = re.fullmatch(r"(\*|[0-9A-Z]+)(?:-([0-9A-Z]+))?(?:/(\d+))?", part)
        if not m:
            return f"the {name} field {text!r} is not a cron value."
        try:
            start = low if m.group(1) == "*" else _cron_number(m.group(1), names, offset=low)
            end = (
                _cron_number(m.group(2), names, offset=low)
                if m.group(2)
                else (high if m.group(3) or m.group(1) == "*" else start)
            )
        except ValueError:
            return f"the {name} field {text!r} is not a cron value."
        step = int(m.group(3) or 1)
        if not (low <= start <= high and low <= end <= high) or step < 1:
            return f"the {name} field allows {low}–{high} (got {text!r})."
        values.update(range(start, end + 1, step))
    return values


def _cron_number(token: str, names: list[str], *, offset: int) -> int:
    if token in names:
        return names.index(token) + offset
    return int(token)


def cron_problem(body: str) -> str | None:
    """Why a cron body is refused, or None. Consecutive firings within a day (and across midnight, which
    the next day may repeat) must be at least 6 minutes apart, as the original requires."""
    fields = body.split()
    if len(fields) != 6:
        return "A cron expression has 6 fields: minutes hours day-of-month month day-of-week year."
    if "?" not in (fields[2], fields[4]):
        return "Use '?' in either the day-of-month or the day-of-week field (EventBridge requires one)."
    parsed = []
    for text, (name, low, high) in zip(fields, _CRON_FIELDS, strict=True):
        values = _cron_values(text.upper(), name, low, high)
        if isinstance(values, str):
            return f"Schedule expression format error: {values}"
        parsed.append(values)
    times = sorted(h * 60 + m for h in parsed[1] for m in parsed[0])
    gaps = [b - a for a, b in itertools.pairwise(times)] + [1440 - times[-1] + times[0]]
    if min(gaps) < 6:
        return "The minimum interval of data processing is 6 minutes."
    return None


def _check_modeling(c: _Checker, region: str | None, ctx: Context) -> None:
    modeling = c.object("modeling", required=False)
    if modeling is None:
        return
    if c.value("processing") is None:
        c.add("modeling", "Data modeling loads processed data; enable data processing first.")
    c.boolean("modeling.athena")
    redshift = c.object("modeling.redshift", required=False)
    if redshift is None:
        return
    p = "modeling.redshift."
    mode = c.choice(p + "mode", ("new_serverless", "existing_serverless", "provisioned"))
    c.integer(p + "data_range_minutes", 1440, 1440 * 365 * 10)
    for other in {"new_serverless", "existing_serverless", "provisioned"} - {mode or ""}:
        if c.value(p + other) is not None:
            c.add(p + other, f"Only the settings of the chosen Redshift mode ({mode}) belong here.")
    if not mode or c.object(p + mode) is None:
        return
    p += f"{mode}."
    if mode == "new_serverless":
        rpu = RPU_RANGE.get(region or "")
        if region and rpu is None:
            c.add(
                p + "base_rpu", f"Redshift Serverless is not offered in {region}; use a provisioned cluster."
            )
        else:
            c.integer(p + "base_rpu", *(rpu or (8, 512)), multiple=8)
        c.pattern(p + "vpc_id", "vpc_id")
        subnets = c.id_list(p + "subnet_ids", "subnet_id", minimum=3, what="subnet")
        c.id_list(p + "security_group_ids", "security_group_id", minimum=1, what="security group")
        azs = {ctx.subnet_azs[s] for s in subnets if s in ctx.subnet_azs}
        needed = 2 if ctx.region_az_count == 2 else 3
        if len(subnets) >= 3 and ctx.subnet_azs and len(azs) < needed:
            c.add(
                p + "subnet_ids",
                f"Redshift Serverless needs subnets in at least {needed} availability zones (these cover {len(azs)}).",
            )
    elif mode == "existing_serverless":
        c.pattern(p + "workgroup_name", "redshift_name")
        c.pattern(p + "iam_role_arn", "iam_role_arn")
    else:
        c.pattern(p + "cluster_identifier", "redshift_name")
        c.pattern(p + "db_user", "redshift_name", hint="a letter, then 1–63 letters, digits, '-' or '_'.")


def redshift_mode(spec: dict[str, Any]) -> str | None:
    return get(spec, "modeling.redshift.mode")


# One Reporting template holds every app's data sets and dashboard, ~25 KB each, under CloudFormation's 1 MB.
REPORTING_MAX_APPS = 30


def _check_reporting(c: _Checker, ctx: Context) -> None:
    if c.object("reporting", required=False) is None:
        return
    if not redshift_mode(c.spec):
        c.add("reporting", "The QuickSight dashboards read Redshift; enable Redshift in data modeling first.")
    if len(ctx.app_ids) > REPORTING_MAX_APPS:
        c.add("reporting", f"The preset dashboards cover at most {REPORTING_MAX_APPS} apps per pipeline (this "
                           f"project has {len(ctx.app_ids)}); turn reporting off or split the apps across projects.")  # fmt: skip
    c.pattern("reporting.quicksight_user_arn", "quicksight_user_arn", required=False)
    c.pattern("reporting.namespace", "quicksight_namespace")


def _check_streaming(c: _Checker, sdk: str | None, ctx: Context) -> None:
    if c.object("streaming", required=False) is None:
        return
    if get(c.spec, "ingestion.sink.type") != "kinesis":
        c.add("streaming", "Real-time streaming reads the Kinesis sink; choose Kinesis as the sink.")
    if redshift_mode(c.spec) not in ("new_serverless", "provisioned"):
        c.add(
            "streaming", "Real-time streaming writes to a new Redshift Serverless or a provisioned cluster."
        )
    if sdk == "thirdparty" and get(c.spec, "processing.transformer") not in ("gtm", "sensors"):
        c.add(
            "streaming", "With a third-party SDK, streaming works only with the gtm or sensors transformer."
        )
    apps = c.value("streaming.app_ids", [])
    if not isinstance(apps, list):
        c.add("streaming.app_ids", "Give a list of app ids.")
    elif unknown := [a for a in apps if a not in ctx.app_ids]:
        c.add("streaming.app_ids", f"Not apps of this project: {', '.join(map(str, unknown))}.")
    c.integer("streaming.retention_hours", 24, 8760)
