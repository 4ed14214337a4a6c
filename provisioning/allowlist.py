"""The local collector's allow-list file: which app ids it accepts, for which project (`ingestion.allowlist`).

One file serves every project on this machine, so each write takes a lock, changes only its own project's
entries, and replaces the file atomically (a temporary file, then `os.replace`): the collector, which re-reads
the file when its mtime changes, never sees half of it.
"""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings


class AppIdTaken(Exception):
    """An app id another project already serves on this collector."""


def allowlist_path() -> Path:
    return Path(settings.CLICKSTREAM_ALLOWLIST_FILE)


def allowlist_read(path: Path | None = None) -> dict[str, dict[str, str]]:
    """`{app_id: {"project_id": …, "pipeline": …}}` as the file says now; a missing file is an empty list.

    `pipeline` (ignored by the collector) names the pipeline that published the entry: two organizations may
    both have a project "shop", and only the pipeline's id tells their entries apart.
    """
    path = path or allowlist_path()
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    apps = document.get("apps", {}) if isinstance(document, dict) else {}
    return {app: entry for app, entry in apps.items() if isinstance(entry, dict)}


def allowlist_publish(*, pipeline_id: str, project_id: str, app_ids: list[str]) -> None:
    """Make the pipeline's entries exactly `app_ids`, refusing app ids another pipeline holds."""
    with _locked() as path:
        apps = allowlist_read(path)
        taken = sorted(a for a in app_ids if apps.get(a, {}).get("pipeline", pipeline_id) != pipeline_id)
        if taken:
            raise AppIdTaken(
                f"App id {', '.join(taken)} is already served by another project on this collector; app ids "
                "must be unique on one collector. Register the app under another id, or remove it there."
            )
        kept = {a: e for a, e in apps.items() if e.get("pipeline") != pipeline_id}
        _write(path, kept | {a: {"project_id": project_id, "pipeline": pipeline_id} for a in app_ids})


def allowlist_withdraw(*, pipeline_id: str) -> None:
    with _locked() as path:
        apps = allowlist_read(path)
        if any(e.get("pipeline") == pipeline_id for e in apps.values()):
            _write(path, {a: e for a, e in apps.items() if e.get("pipeline") != pipeline_id})


def pipeline_entries(*, pipeline_id: str) -> list[str]:
    return sorted(a for a, e in allowlist_read().items() if e.get("pipeline") == pipeline_id)


@contextmanager
def _locked() -> Iterator[Path]:
    path = allowlist_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield path
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _write(path: Path, apps: dict[str, dict[str, str]]) -> None:
    document = {"apps": dict(sorted(apps.items()))}
    fd, temp = tempfile.mkstemp(prefix=".allowlist-", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(document, handle, indent=1)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, 0o644)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
