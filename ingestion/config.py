"""The collector's settings: every ``--flag`` can also be given as an environment variable
``COLLECTOR_<FLAG>`` (``--cors-origins`` ↔ ``COLLECTOR_CORS_ORIGINS``); a flag wins over the environment."""

from __future__ import annotations

import argparse
import ipaddress
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ENV_PREFIX = "COLLECTOR_"
MB = 1_000_000
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Settings:
    """Everything the collector needs to run; defaults are the production ones."""

    sink: str
    host: str = "0.0.0.0"
    port: int = 8088
    path: str = "/collect"
    app_ids: tuple[str, ...] = ()
    project_id: str | None = None
    app_ids_file: Path | None = None
    cors_origins: tuple[str, ...] = ()
    trusted_proxies: tuple[IPNetwork, ...] = ()
    dev_mode: bool = False
    spool_dir: Path = Path("var/collector-spool")
    spool_max_bytes: int = 2_000 * MB
    batch_max_bytes: int = 30 * MB
    batch_seconds: float = 60.0
    fsync: bool = True
    max_body_bytes: int = 1024 * 1024
    max_inflated_bytes: int = 8 * 1024 * 1024
    max_url_bytes: int = 8 * 1024
    max_header_bytes: int = 16 * 1024
    header_timeout: float = 10.0
    body_timeout: float = 10.0
    keep_alive: float = 185.0
    grace: float = 30.0
    max_connections: int = 10_000
    log_level: str = "info"


def env_default(flag: str, fallback: object = None) -> object:
    return os.environ.get(ENV_PREFIX + flag.upper().replace("-", "_"), fallback)


def comma_list(text: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (text or "").split(",") if part.strip())


def truthy(text: object) -> bool:
    return str(text).lower() in {"1", "true", "yes", "on"}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ingestion", description="The Clickstream collector")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the collector")
    defaults = Settings(sink="")

    def option(flag: str, kind: Callable[[str], object] = str, *aliases: str, **kwargs: object) -> None:
        fallback = kwargs.pop("default", getattr(defaults, flag.replace("-", "_"), None))
        names = [f"--{flag}", *aliases]
        serve.add_argument(*names, type=kind, default=env_default(flag, fallback), **kwargs)  # type: ignore[arg-type]

    option("sink", help="file:///lake, s3://bucket/prefix, kinesis://stream or kafka://host:9092/topic")
    option("host")
    option("port", int)
    option("path", help="the collect endpoint path (default /collect)")
    option("app-ids", default="", help="comma list of accepted app ids (with --project-id)")
    option("project-id")
    option(
        "app-ids-file",
        str,
        "--allowlist-file",
        help='JSON {"apps": {"<appId>": {"project_id": "<p>"}}}, reloaded on change',
    )
    option("cors-origins", default="", help="comma list: https://shop.example, *.example.com, or *")
    option(
        "trusted-proxies", default="", help="comma list of addresses/networks whose X-Forwarded-For is used"
    )
    option("dev-mode", truthy, help="honour the fakeIp query parameter")
    option("spool-dir")
    option("spool-max-bytes", int, help="the spool absorbs this much during an outage; then 503")
    option("batch-max-bytes", int, help="roll a spool segment (one sink batch) at this size (1-50 MB)")
    option("batch-seconds", float, help="…or at this age (1-3600 s)")
    option("fsync", truthy, help="group-commit fsync before acknowledging (default true)")
    for flag in (
        "max-body-bytes",
        "max-inflated-bytes",
        "max-url-bytes",
        "max-header-bytes",
        "max-connections",
    ):
        option(flag, int)
    for flag in ("header-timeout", "body-timeout", "keep-alive", "grace"):
        option(flag, float)
    option("log-level")
    return parser


def settings_from_args(args: argparse.Namespace) -> Settings:
    if not args.sink:
        raise SystemExit("--sink (or COLLECTOR_SINK) is required")
    if not 1 * MB <= args.batch_max_bytes <= 50 * MB or not 1 <= args.batch_seconds <= 3600:
        raise SystemExit("--batch-max-bytes must be 1-50 MB and --batch-seconds 1-3600")
    plain = {
        name: getattr(args, name)
        for name in ("sink", "host", "port", "path", "project_id", "dev_mode", "fsync", "log_level")
    }
    numbers = {
        name: getattr(args, name) for name in vars(args) if name.startswith(("max_", "batch_", "spool_m"))
    }
    timeouts = {
        name: getattr(args, name) for name in ("header_timeout", "body_timeout", "keep_alive", "grace")
    }
    return Settings(
        **plain,
        **numbers,
        **timeouts,
        app_ids=comma_list(args.app_ids),
        app_ids_file=Path(args.app_ids_file) if args.app_ids_file else None,
        cors_origins=comma_list(args.cors_origins),
        trusted_proxies=tuple(
            ipaddress.ip_network(p, strict=False) for p in comma_list(args.trusted_proxies)
        ),
        spool_dir=Path(args.spool_dir),
    )
