"""The plugins a pipeline may name: the ETL's built-ins and every installed `clickstream.plugins` entry point.

The registry is `etl.plugins` (the job's own); this module only describes it for the portal: kind,
description, version and where it comes from, plus the original's built-in ids for people who know them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, entry_points, version

ORIGINAL_IDS = {"clickstream": "BUILT-IN-1", "ua": "BUILT-IN-2", "geo": "BUILT-IN-3", "gtm": "BUILT-IN-4",
                "sensors": "BUILT-IN-5"}  # fmt: skip
DEFAULT_ENRICHERS = ("traffic", "ua", "geo")


@dataclass(frozen=True)
class PluginInfo:
    name: str
    kind: str  # "transformer" | "enricher"
    description: str
    version: str
    source: str  # "built-in" or the distribution that installs it
    original_id: str = ""

    @property
    def builtin(self) -> bool:
        return self.source == "built-in"


def _own_version() -> str:
    try:
        return version("clickstream")
    except PackageNotFoundError:
        return "development"


@lru_cache(maxsize=1)
def installed_plugins() -> tuple[PluginInfo, ...]:
    """Built-ins first, then entry points, each kind in name order. Cached: installing a wheel needs a
    restart of the portal anyway, as it does for the ETL workers."""
    from etl import plugins as registry

    dists = {ep.name: ep.dist for ep in entry_points(group=registry.GROUP)}
    found = []
    for name, cls in registry.available().items():
        dist = None if name in registry.BUILTINS else dists.get(name)
        found.append(PluginInfo(
            name=name, kind=cls.kind, description=cls.description,
            version=dist.version if dist else _own_version(),
            source="built-in" if dist is None else dist.metadata["Name"], original_id=ORIGINAL_IDS.get(name, ""),
        ))  # fmt: skip
    return tuple(sorted(found, key=lambda p: (not p.builtin, p.kind != "transformer", p.name)))


def plugin_names(kind: str) -> tuple[str, ...]:
    return tuple(p.name for p in installed_plugins() if p.kind == kind)


def plugin_archives(names: list[str]) -> list[str]:
    """`<distribution>-<version>.zip` of each distribution that installs a custom plugin among `names`
    (built-ins travel in the job's own code): the files the job run needs beside `etl`, where
    `provisioning.aws.assets.upload_plugin_code` puts them."""
    by_name = {p.name: p for p in installed_plugins()}
    found = {by_name[n].source: by_name[n].version for n in names if n in by_name and not by_name[n].builtin}
    return [f"{archive_stem(dist, ver)}.zip" for dist, ver in sorted(found.items())]


def archive_stem(distribution: str, version_: str) -> str:
    return f"{distribution.replace('-', '_').lower()}-{version_}"
