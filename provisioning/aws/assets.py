"""The functions' zip assets: built deterministically from the repository's files, named by their content.

The same source always gives the same bytes (sorted entries, fixed times and modes), so the key — the
sha256 of the zip — changes exactly when the code does: a template that names the key updates its function on
the next deploy and never otherwise. Each asset carries the repository modules it imports under their own
paths (the raw layout of `ingestion/layout.py`, the run arguments of `etl/emr.py`, the data model of
`etl/model.py`), so a function and the code it shares with the collector or the ETL are one code.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from functools import cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
_PACKAGE = (
    "provisioning/__init__.py",
    "provisioning/aws/__init__.py",
    "provisioning/aws/functions/__init__.py",
)
_F = "provisioning/aws/functions/"
# name → repository files it holds; an empty `__init__.py` stands for packages whose own one imports more.
ASSETS: dict[str, tuple[str, ...]] = {
    "kinesis_to_s3": (*_PACKAGE, _F + "kinesis_to_s3.py", "ingestion/layout.py"),
    "emr_submitter": (*_PACKAGE, _F + "emr_submitter.py", _F + "cfn.py", "etl/emr.py"),
    "redshift": (*_PACKAGE, _F + "cfn.py", _F + "redshift_sql.py", _F + "redshift_schema.py",
                 _F + "redshift_load.py", _F + "redshift_warehouse.py", "etl/model.py"),
}  # fmt: skip
_EMPTY_INIT = ("ingestion/__init__.py", "etl/__init__.py")
_STAMP = (1980, 1, 1, 0, 0, 0)


@cache
def build(name: str) -> bytes:
    """The asset's zip bytes (deterministic)."""
    files = {path: (ROOT / path).read_bytes() for path in ASSETS[name]}
    for init in _EMPTY_INIT:
        if any(p.startswith(init.split("/")[0] + "/") for p in files):
            files[init] = b""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(files):
            info = zipfile.ZipInfo(path, date_time=_STAMP)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, files[path], compresslevel=9)
    return buffer.getvalue()


def digest(name: str) -> str:
    return hashlib.sha256(build(name)).hexdigest()


def asset_key(name: str, prefix: str = "") -> str:
    """Where the asset lives in the pipeline bucket: ``<prefix>assets/<sha256>.zip``."""
    return f"{prefix}assets/{digest(name)}.zip"


def upload_assets(session: Any, *, bucket: str, prefix: str) -> dict[str, str]:
    """Puts every asset not yet in the bucket (a present key already holds these bytes); returns name → key.
    The reconciler calls it before creating or updating stacks that run functions."""
    s3 = session.client("s3")
    keys = {}
    for name in ASSETS:
        key = asset_key(name, prefix)
        try:
            s3.head_object(Bucket=bucket, Key=key)
        except s3.exceptions.ClientError as error:
            if error.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey", "NotFound"):
                raise
            s3.put_object(Bucket=bucket, Key=key, Body=build(name), ContentType="application/zip",
                          ChecksumSHA256=_b64_sha(name))  # fmt: skip
        keys[name] = key
    return keys


def _b64_sha(name: str) -> str:
    import base64

    return base64.b64encode(hashlib.sha256(build(name)).digest()).decode()


def upload_job_code(session: Any, *, bucket: str, runtime_prefix: str) -> dict[str, str]:
    """Puts the `etl` job's code where the DataProcessing stack's submitter starts it from
    (``<runtime_prefix>etl/etl.zip`` and its entry script), through `etl.emr.package_job`."""
    from etl import emr

    return emr.package_job(session.client("s3"), bucket, f"{runtime_prefix}etl")


def plugin_code(distribution: str) -> bytes:
    """A deterministic zip of an installed distribution's Python modules and the metadata that names its
    entry points, so `etl.plugins` finds its plugins when the zip is on the job's `pyFiles`."""
    from importlib.metadata import distribution as find

    dist = find(distribution)
    keep = [f for f in dist.files or () if f.suffix == ".py" or f.name in ("METADATA", "entry_points.txt")]
    if not any(f.suffix == ".py" for f in keep):
        raise ValueError(
            f"{distribution} has no Python modules to ship (an editable install?); install it normally."
        )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(keep, key=str):
            info = zipfile.ZipInfo(str(path), date_time=_STAMP)
            info.external_attr = 0o644 << 16
            archive.writestr(info, Path(path.locate()).read_bytes(), compress_type=zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def upload_plugin_code(session: Any, *, bucket: str, runtime_prefix: str, plugins: list[str]) -> list[str]:
    """Puts the code of each custom plugin's distribution among `plugins` where the DataProcessing stack's
    S3PathPluginFiles names it (``<runtime_prefix>etl/plugins/<dist>-<version>.zip``); returns the keys."""
    from pipelines.plugins import archive_stem, installed_plugins, plugin_archives

    sources = {
        f"{archive_stem(p.source, p.version)}.zip": p.source for p in installed_plugins() if not p.builtin
    }
    s3, keys = session.client("s3"), []
    for archive in plugin_archives(plugins):
        key = f"{runtime_prefix}etl/plugins/{archive}"
        s3.put_object(
            Bucket=bucket, Key=key, Body=plugin_code(sources[archive]), ContentType="application/zip"
        )
        keys.append(key)
    return keys
