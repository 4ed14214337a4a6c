"""Command line: `python -m etl run …` processes pending raw files; `python -m etl plugins` lists plugins;
`python -m etl emr-dependencies` builds the third-party packages archive an EMR Serverless run needs.

Locations: `--lake ROOT --project-id P` uses the lake layout (DESIGN.md §3) under ROOT (a directory or
s3://bucket/prefix); `--input RAW --output OUT` reads any folder of raw files and writes the tables to
`OUT/<table>/` with job data in `OUT/job-data/`.
"""

from __future__ import annotations

import argparse
import json
import sys

from etl.config import JobConfig
from etl.lake import Layout, dir_layout, lake_layout


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m etl", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("plugins", help="list installed plugins")
    run = sub.add_parser("run", help="process the raw files not processed yet")
    run.add_argument("--input", help="folder (or s3:// prefix) of raw files")
    run.add_argument("--output", help="folder (or s3:// prefix) for tables and job data")
    run.add_argument("--lake", help="lake root: use clickstream/<project-id>/… under it")
    run.add_argument("--project-id", required=True)
    run.add_argument("--app-ids", required=True, help="comma-separated app ids to accept")
    run.add_argument("--plugins", help="comma-separated plugin names, transformer first")
    run.add_argument("--freshness-hours", type=int, default=72)
    run.add_argument("--bot", choices=("drop", "keep", "flag"), default="drop")
    run.add_argument("--anonymise-ip", action="store_true")
    run.add_argument("--geo-mmdb", help="MaxMind .mmdb file (default: geoip2fast's bundled country data)")
    run.add_argument("--rules-dir", help="traffic rule files: <dir>/<app_id>/traffic_source_*_rule_v1.json")
    run.add_argument(
        "--engine", choices=("duckdb", "spark"), default="duckdb", help="duckdb (in-process) or spark"
    )
    run.add_argument("--master", default="local[*]", help="Spark master; 'cluster' keeps the cluster's")
    run.add_argument("--job-name")
    deps = sub.add_parser("emr-dependencies", help="build the dependencies archive for EMR Serverless")
    deps.add_argument("--output", default="var/emr", help="folder for the archive (reused when present)")
    deps.add_argument("--python-version", default=None, help="the EMR release's Python, e.g. 3.11")
    deps.add_argument("--platform", default=None, help="wheel platform tag, e.g. manylinux_2_28_x86_64")
    return parser


def _layout(args: argparse.Namespace) -> Layout:
    if args.lake:
        return lake_layout(args.lake, args.project_id)
    if not (args.input and args.output):
        raise SystemExit("give --lake, or both --input and --output")
    return dir_layout(args.input, args.output)


def _config(args: argparse.Namespace) -> JobConfig:
    options = {
        "project_id": args.project_id,
        "app_ids": [a.strip() for a in args.app_ids.split(",") if a.strip()],
        "freshness_hours": args.freshness_hours,
        "bot_mode": args.bot,
        "anonymise_ip": args.anonymise_ip,
        "geo_mmdb": args.geo_mmdb,
        "rules_dir": args.rules_dir,
    }
    if args.plugins:
        options["plugins"] = [p.strip() for p in args.plugins.split(",") if p.strip()]
    if args.job_name:
        options["job_name"] = args.job_name
    return JobConfig(**options)


def check_input(layout: Layout) -> None:
    """A missing or unreadable input location is a clear error before Spark starts."""
    try:
        if not layout.raw_store.is_s3:
            from pathlib import Path

            path = Path(layout.raw_store.url(layout.raw))
            if not path.is_dir():
                raise SystemExit(f"input location {path} does not exist or is not a directory")
        layout.raw_files()
    except OSError as error:
        raise SystemExit(f"cannot read the input location: {error}") from error
    except Exception as error:
        if type(error).__name__ in ("ClientError", "NoCredentialsError", "EndpointConnectionError"):
            raise SystemExit(f"cannot read the input location: {error}") from error
        raise


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "plugins":
        from etl.plugins import available

        for name, plugin in sorted(available().items()):
            print(f"{name:<14} {plugin.kind:<12} {plugin.description}")
        return 0
    if args.command == "emr-dependencies":
        from pathlib import Path

        from etl import emr

        target = {
            "python_version": args.python_version or emr.EMR_PYTHON,
            "platform": args.platform or emr.EMR_PLATFORM,
        }
        print(emr.build_dependencies(Path(args.output), **target))
        return 0
    layout, cfg = _layout(args), _config(args)
    check_input(layout)
    from etl.job import run_job

    spark = None
    if args.engine == "spark":
        from etl.session import build_session

        spark = build_session(None if args.master == "cluster" else args.master)
    print(json.dumps(run_job(spark, layout, cfg)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
