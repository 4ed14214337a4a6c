"""Plugins: transformers (raw requests of some format → event rows) and enrichers (event rows → event rows).

A plugin is a class with `name`, `kind`, `description` and `transform` or `enrich`. Built-ins are listed here;
others come from installed wheels through the entry-point group `clickstream.plugins`, e.g. in the plugin's
pyproject.toml: `[project.entry-points."clickstream.plugins"] my-enricher = "my_pkg:MyEnricher"`.
A run names its plugins in order (`JobConfig.plugins`): exactly one transformer first, then enrichers; that
list is what a pipeline's configuration stores, so the portal can drive it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, ClassVar

from pyspark.sql import DataFrame, SparkSession

from etl.config import DEFAULT_RULES_DIR, JobConfig

GROUP = "clickstream.plugins"


@dataclass
class Context:
    """What a plugin may use besides the rows: the session, the run's options, and shared caches."""

    spark: SparkSession
    cfg: JobConfig
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class TransformOutput:
    """A transformer's result: accepted events (event_v2 columns + `ua`, `ip`, `items`...), corrupted rows with
    a `reason`, and counts by status."""

    events: DataFrame
    corrupted: DataFrame
    counts: dict[str, int]


class Plugin:
    name: ClassVar[str] = ""
    kind: ClassVar[str] = ""
    description: ClassVar[str] = ""


class Transformer(Plugin):
    kind = "transformer"

    def transform(self, paths: list[str], ctx: Context) -> TransformOutput:
        raise NotImplementedError


class Enricher(Plugin):
    """`per_event = True` enrichers run after the user, item and session tables are derived and affect only
    event_v2 (UA, geo); others run before, so derived tables see their values (traffic source)."""

    kind = "enricher"
    per_event: ClassVar[bool] = True

    def enrich(self, events: DataFrame, ctx: Context) -> DataFrame:
        raise NotImplementedError


class ClickstreamTransformer(Transformer):
    name = "clickstream"
    description = "Clickstream SDK requests (the original's TransformerV3): cleaning, parsing, data model v2."

    def transform(self, paths: list[str], ctx: Context) -> TransformOutput:
        from etl import transform

        parsed = transform.parse_requests(ctx.spark, paths, ctx.cfg)
        ctx.extra["parsed"] = parsed
        return TransformOutput(
            transform.event_rows(parsed, ctx.cfg), transform.corrupted_records(parsed), parsed.counts
        )


class TrafficEnricher(Enricher):
    name = "traffic"
    description = "Traffic source, medium, category and channel group from the rule files (per app)."
    per_event = False

    def enrich(self, events: DataFrame, ctx: Context) -> DataFrame:
        from etl.enrich.traffic import enrich_traffic, load_rules

        rules = load_rules(Path(ctx.cfg.rules_dir or DEFAULT_RULES_DIR), ctx.cfg.app_ids)
        return enrich_traffic(events, rules)


class UserAgentEnricher(Enricher):
    name = "ua"
    description = "Browser, OS, device and device category from the User-Agent (ua-parser built-in rules)."

    def enrich(self, events: DataFrame, ctx: Context) -> DataFrame:
        from etl.enrich.ua import apply_bot_mode, enrich_ua

        return apply_bot_mode(enrich_ua(events), ctx.cfg.bot_mode)


class GeoEnricher(Enricher):
    name = "geo"
    description = "Continent, country (and region, city with a MaxMind .mmdb) from the client IP."

    def enrich(self, events: DataFrame, ctx: Context) -> DataFrame:
        from etl.enrich.geo import enrich_geo

        return enrich_geo(events, ctx.cfg.geo_mmdb)


from etl.transformers.gtm import GTMServerTransformer  # noqa: E402 (subclasses Transformer, defined above)
from etl.transformers.sensors import SensorsTransformer  # noqa: E402

BUILTINS: dict[str, type[Plugin]] = {
    p.name: p
    for p in (
        ClickstreamTransformer, GTMServerTransformer, SensorsTransformer, TrafficEnricher, UserAgentEnricher,
        GeoEnricher,
    )
}  # fmt: skip


def available() -> dict[str, type[Plugin]]:
    """Built-ins plus every installed entry point of the `clickstream.plugins` group."""
    found = dict(BUILTINS)
    for ep in entry_points(group=GROUP):
        found.setdefault(ep.name, ep.load())
    return found


def chain(names: list[str]) -> tuple[Transformer, list[Enricher]]:
    """Instantiates the configured plugins; refuses anything but one transformer followed by enrichers."""
    known = available()
    missing = [n for n in names if n not in known]
    if missing:
        raise ValueError(f"unknown plugins: {', '.join(missing)} (installed: {', '.join(sorted(known))})")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"plugins listed more than once: {', '.join(repeated)}")
    plugins = [known[n]() for n in names]
    if not plugins or not isinstance(plugins[0], Transformer):
        raise ValueError("the first plugin must be a transformer")
    enrichers = [p for p in plugins[1:] if isinstance(p, Enricher)]
    if len(enrichers) != len(plugins) - 1:
        raise ValueError("only the first plugin may be a transformer")
    return plugins[0], enrichers
