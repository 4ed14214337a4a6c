"""The lake layout (DESIGN.md §3) and the few object-store operations the job needs, on a local
directory or an S3 prefix.

Layout under `<root>/clickstream/<project_id>/`: `data/buffer/` raw, `data/ods/<table>/` output, `job-data/`
commit records, staged runs, user state and corrupted records.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RAW_SUFFIXES = (".gz", ".json", ".log")


def _s3_split(url: str) -> tuple[str, str]:
    bucket, _, key = url[len("s3://") :].partition("/")
    return bucket, key


@dataclass
class Store:
    """Keys are '/'-separated paths relative to `root` (a directory or `s3://bucket/prefix`)."""

    root: str

    @property
    def is_s3(self) -> bool:
        return self.root.startswith("s3://")

    def url(self, key: str) -> str:
        """The location Spark reads or writes for a key."""
        return f"{self.root.rstrip('/')}/{key}" if key else self.root.rstrip("/")

    def _s3(self) -> Any:
        import boto3

        return boto3.client("s3", endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None)

    def list(self, prefix: str) -> dict[str, int]:
        """Every object under a prefix with its size, keyed relative to the root."""
        if self.is_s3:
            bucket, base = _s3_split(self.url(prefix))
            root_key = _s3_split(self.url(""))[1]
            out = {}
            for page in self._s3().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=base):
                for obj in page.get("Contents", []):
                    out[obj["Key"][len(root_key) :].lstrip("/")] = obj["Size"]
            return out
        folder = Path(self.url(prefix))
        if not folder.exists():
            return {}
        root = Path(self.root)
        return {str(p.relative_to(root)): p.stat().st_size for p in folder.rglob("*") if p.is_file()}

    def read_text(self, key: str) -> str | None:
        if self.is_s3:
            bucket, k = _s3_split(self.url(key))
            try:
                return self._s3().get_object(Bucket=bucket, Key=k)["Body"].read().decode()
            except self._s3().exceptions.NoSuchKey:
                return None
        path = Path(self.url(key))
        return path.read_text() if path.exists() else None

    def read_bytes(self, key: str) -> bytes:
        if self.is_s3:
            bucket, k = _s3_split(self.url(key))
            return self._s3().get_object(Bucket=bucket, Key=k)["Body"].read()
        return Path(self.url(key)).read_bytes()

    def write_bytes(self, key: str, data: bytes) -> None:
        if self.is_s3:
            bucket, k = _s3_split(self.url(key))
            self._s3().put_object(Bucket=bucket, Key=k, Body=data)
            return
        path = Path(self.url(key))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    def write_text(self, key: str, text: str) -> None:
        """Atomic: an S3 PUT, or a local write to a temporary name and a rename."""
        if self.is_s3:
            bucket, k = _s3_split(self.url(key))
            self._s3().put_object(Bucket=bucket, Key=k, Body=text.encode())
            return
        path = Path(self.url(key))
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(text)
        os.replace(tmp, path)

    def move(self, src: str, dst: str) -> None:
        """Idempotent: a move already done (source gone, destination there) is a no-op."""
        if self.is_s3:
            bucket, s = _s3_split(self.url(src))
            _, d = _s3_split(self.url(dst))
            client = self._s3()
            try:
                client.copy_object(Bucket=bucket, Key=d, CopySource={"Bucket": bucket, "Key": s})
            except client.exceptions.ClientError:
                return
            client.delete_object(Bucket=bucket, Key=s)
            return
        source, target = Path(self.url(src)), Path(self.url(dst))
        if source.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(source, target)

    def delete_prefix(self, prefix: str) -> None:
        if self.is_s3:
            bucket, _ = _s3_split(self.url(prefix))
            client = self._s3()
            for key in self.list(prefix):
                client.delete_object(Bucket=bucket, Key=_s3_split(self.url(key))[1])
            return
        shutil.rmtree(self.url(prefix), ignore_errors=True)


@dataclass
class Layout:
    """Where a run reads raw files and writes tables and job data (stores and key prefixes)."""

    raw_store: Store
    raw: str
    out_store: Store
    ods: str
    job_data: str

    def raw_files(self) -> dict[str, int]:
        """Raw objects (non-empty, not partition markers or hidden files) under the raw prefix."""
        return {
            k: size
            for k, size in self.raw_store.list(self.raw).items()
            if size > 0 and k.endswith(RAW_SUFFIXES) and not k.endswith("/_.json") and "/." not in f"/{k}"
        }


def lake_layout(root: str, project_id: str) -> Layout:
    """The project's folders in a lake (DESIGN.md §3): `clickstream/<project_id>/{data/buffer,data/ods,job-data}`."""
    store = Store(root)
    base = f"clickstream/{project_id}"
    return Layout(store, f"{base}/data/buffer", store, f"{base}/data/ods", f"{base}/job-data")


def dir_layout(input_root: str, output_root: str) -> Layout:
    """Any folder of raw files in; tables at `<output>/<table>/…` and job data at `<output>/job-data/`."""
    return Layout(Store(input_root), "", Store(output_root), "", "job-data")
