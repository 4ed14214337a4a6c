"""Which app ids the collector accepts, and which project each belongs to.

Two sources, merged:

* a static list (``--app-ids a,b`` with ``--project-id p``) for single-project use;
* a JSON file that the collector re-reads when it changes, without a restart. The portal's local provider
  publishes its pipelines' apps there. Its format::

      {"apps": {"shop_web": {"project_id": "shop"}, "shop_android": {"project_id": "shop"}}}

  An app id must match ``[a-zA-Z][a-zA-Z0-9_]{0,126}`` and a project id ``[a-z][a-z0-9_]{0,126}``
  (spec/ingestion.md §4.6). A file that cannot be read or parsed leaves the previous list in force.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import orjson

APP_ID = re.compile(r"[a-zA-Z][a-zA-Z0-9_]{0,126}")
PROJECT_ID = re.compile(r"[a-z][a-z0-9_]{0,126}")

log = logging.getLogger("ingestion.allowlist")


class AllowListError(ValueError):
    """The allow-list file or flags are not in the documented format."""


def parse_apps(document: object) -> dict[str, str]:
    """The ``{"apps": {app_id: {"project_id": …}}}`` document → ``{app_id: project_id}``."""
    apps = document.get("apps") if isinstance(document, dict) else None
    if not isinstance(apps, dict):
        raise AllowListError('expected {"apps": {"<appId>": {"project_id": "<project>"}}}')
    result: dict[str, str] = {}
    for app_id, entry in apps.items():
        project_id = entry.get("project_id") if isinstance(entry, dict) else None
        check_ids(app_id, project_id)
        result[app_id] = project_id  # type: ignore[assignment]  # check_ids proved it a str
    return result


def check_ids(app_id: object, project_id: object) -> None:
    if not isinstance(app_id, str) or not APP_ID.fullmatch(app_id):
        raise AllowListError(f"invalid app id {app_id!r}")
    if not isinstance(project_id, str) or not PROJECT_ID.fullmatch(project_id):
        raise AllowListError(f"invalid project id {project_id!r} for app {app_id!r}")


def static_apps(app_ids: list[str], project_id: str | None) -> dict[str, str]:
    """``--app-ids`` with ``--project-id`` → ``{app_id: project_id}``."""
    if app_ids and not project_id:
        raise AllowListError("--app-ids needs --project-id (the project the apps belong to)")
    apps = {app_id: project_id or "" for app_id in app_ids}
    for app_id, project in apps.items():
        check_ids(app_id, project)
    return apps


class AllowList:
    """The merged allow-list; ``refresh()`` re-reads the file when its mtime or size changed."""

    def __init__(self, static: dict[str, str], path: Path | None = None) -> None:
        self._static = dict(static)
        self._path = path
        self._stamp: tuple[int, int] | None = None
        self.apps: dict[str, str] = dict(static)
        if path is not None:
            self._stamp = self._file_stamp()
            try:
                self.apps = {**self._read(path), **self._static}
            except OSError as error:
                log.warning("allow-list file not readable yet", extra={"error": str(error)})

    def project_for(self, app_id: str | None) -> str | None:
        return self.apps.get(app_id) if app_id else None

    def refresh(self) -> bool:
        """Reload the file if it changed; return whether the list changed."""
        if self._path is None or self._file_stamp() == self._stamp:
            return False
        self._stamp = self._file_stamp()
        try:
            apps = {**self._read(self._path), **self._static}
        except (OSError, AllowListError) as error:
            log.error("allow-list not reloaded, keeping the previous one", extra={"error": str(error)})
            return False
        changed = apps != self.apps
        self.apps = apps
        log.info("allow-list reloaded", extra={"apps": len(apps)})
        return changed

    def _file_stamp(self) -> tuple[int, int] | None:
        try:
            stat = os.stat(self._path)  # type: ignore[arg-type]
        except OSError:
            return None
        return stat.st_mtime_ns, stat.st_size

    @staticmethod
    def _read(path: Path) -> dict[str, str]:
        try:
            return parse_apps(orjson.loads(path.read_bytes()))
        except orjson.JSONDecodeError as error:
            raise AllowListError(f"{path}: {error}") from error
