"""One exactly-once run: pending raw files → staged tables → commit record → published files.

* Input selection: every raw object not named in an earlier commit record (a manifest, not a time window),
  so late files are simply picked up by the next run.
* Staging: everything is written under `job-data/runs/<run>/`; nothing there is visible to readers.
* Commit: one atomic write of `job-data/commits/<run>.json` (raw keys, staged → final file names, user state).
  Before it, a failed or killed run leaves only a staging folder, which the next run deletes, and its raw files
  are still pending. After it, publishing (idempotent moves) is rolled forward by whichever run comes next.
* Events already written by an earlier run (same app, day and event id) are dropped, so a replayed request
  never counts twice.
"""

from __future__ import annotations

import gzip
import json
import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from etl.config import JobConfig
from etl.lake import Layout
from etl.model import PARTITION_COLUMNS
from etl.results import OK, summary

if TYPE_CHECKING:  # Spark is imported only on the Spark path: the DuckDB path starts without it
    from pyspark.sql import DataFrame, SparkSession

    from etl.plugins import Context

log = logging.getLogger(__name__)
TABLE_NAMES = ("event_v2", "item_v2", "user_v2", "session")


def _key(*parts: str) -> str:
    return "/".join(p.strip("/") for p in parts if p)


def _commits(layout: Layout) -> dict[str, dict[str, Any]]:
    prefix = _key(layout.job_data, "commits")
    records = {}
    for key in sorted(layout.out_store.list(prefix)):
        if key.endswith(".json"):
            records[key] = json.loads(layout.out_store.read_text(key) or "{}")
    return records


def recover(layout: Layout) -> dict[str, dict[str, Any]]:
    """Finishes publishing committed runs, deletes staging of uncommitted ones; returns the commit records."""
    records = _commits(layout)
    committed = {r["run"] for r in records.values()}
    for key, record in records.items():
        if not record.get("published"):
            _publish(layout, record)
            layout.out_store.write_text(key, json.dumps(record | {"published": True}))
    runs = {k.split("/")[0] for k in _relative(layout.out_store.list(_key(layout.job_data, "runs")), layout)}
    for run in runs - committed:
        log.info("deleting the staging folder of uncommitted run %s", run)
    for run in runs:
        layout.out_store.delete_prefix(_key(layout.job_data, "runs", run))
    return records


def _relative(listing: dict[str, int], layout: Layout) -> list[str]:
    prefix = _key(layout.job_data, "runs") + "/"
    return [k[len(prefix) :] for k in listing if k.startswith(prefix)]


def _publish(layout: Layout, record: dict[str, Any]) -> None:
    for src, dst in record["files"].items():
        layout.out_store.move(src, dst)


def pending_files(layout: Layout, records: dict[str, dict[str, Any]]) -> dict[str, int]:
    done = {key for record in records.values() for key in record["raw"]}
    return {k: v for k, v in layout.raw_files().items() if k not in done}


def _previous_event_ids(spark: SparkSession, layout: Layout, events: DataFrame) -> DataFrame | None:
    """(app_id, event_id) already published for the days this batch touches (partition-pruned read)."""
    from pyspark.sql import functions as F

    days = (
        events.select("app_id", F.date_format("event_timestamp", "yyyy/MM/dd").alias("d"))
        .distinct()
        .collect()
    )
    base = _key(layout.ods, "event_v2")
    paths = []
    for app, day in days:
        y, m, d = day.split("/")
        key = _key(base, f"partition_app={app}/partition_year={y}/partition_month={m}/partition_day={d}")
        if layout.out_store.list(key):
            paths.append(layout.out_store.url(key))
    if not paths:
        return None
    previous = spark.read.option("basePath", layout.out_store.url(base)).parquet(*paths)
    return previous.select(F.col("partition_app").alias("app_id"), "event_id")


def write_partitioned(df: DataFrame, url: str) -> None:
    """A table as the Spark engine writes it: Parquet partitioned by app and day, snappy."""
    df.write.mode("overwrite").partitionBy(*PARTITION_COLUMNS).option("compression", "snappy").parquet(url)


def _stage(df: DataFrame, layout: Layout, run: str, name: str) -> None:
    write_partitioned(df, layout.out_store.url(_key(layout.job_data, "runs", run, name)))


def _final_names(layout: Layout, run: str) -> dict[str, str]:
    """Staged parquet file → its published name in the table (unique per run, so moves never collide)."""
    files = {}
    for table in TABLE_NAMES:
        staged = _key(layout.job_data, "runs", run, table)
        for i, key in enumerate(sorted(k for k in layout.out_store.list(staged) if k.endswith(".parquet"))):
            partition = key[len(staged) + 1 :].rsplit("/", 1)[0]
            files[key] = _key(layout.ods, table, partition, f"part-{run}-{i:05d}.snappy.parquet")
    corrupted = _key(layout.job_data, "runs", run, "corrupted")
    for key in layout.out_store.list(corrupted):
        if key.endswith(".gz"):
            files[key] = _key(layout.job_data, "corrupted", f"run={run}", key.rsplit("/", 1)[1])
    return files


def _user_state(spark: SparkSession, layout: Layout, records: dict[str, dict[str, Any]]) -> DataFrame | None:
    states = [r["user_state"] for r in records.values() if r.get("user_state")]
    if not states:
        return None
    return spark.read.parquet(layout.out_store.url(sorted(states)[-1]))


Progress = Callable[[int, str], None]


def _no_progress(percent: int, step: str) -> None:
    return None


def run_job(
    spark: SparkSession | None, layout: Layout, cfg: JobConfig, progress: Progress = _no_progress
) -> dict[str, Any]:
    """Runs once over the pending raw files; returns the run's figures (see `result`). `progress(percent,
    step)` is told as each stage starts (the local runner shows it on the Job row). With a Spark session
    the run uses Spark (EMR Serverless, or a local check of that path); with `None`, DuckDB in this process."""
    started = time.time()
    records = recover(layout)
    pending = pending_files(layout, records)
    if not pending:
        progress(95, "no raw files pending")
        return result(cfg, started, {}, files=0)
    progress(15, f"transforming {len(pending)} raw files")
    if spark is None:
        counts = _process_duckdb(layout, cfg, records, sorted(pending), progress)
    else:
        counts = _process(spark, layout, cfg, records, sorted(pending), progress)
    return result(cfg, started, counts, files=len(pending))


@dataclass
class Tables:
    """The output of one run before it is written: projected tables, the new user state, corrupted rows."""

    tables: dict[str, DataFrame]
    user_state: DataFrame
    corrupted: DataFrame
    counts: dict[str, int]
    cached: list[DataFrame] = field(default_factory=list)


def build_tables(
    ctx: Context,
    paths: list[str],
    previous_ids: Callable[[DataFrame], DataFrame | None] = lambda events: None,
    previous_state: DataFrame | None = None,
) -> Tables:
    """Transformer, de-duplication, enrichers and derived tables, per spec/etl.md §2 (lazy except counts)."""
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    from etl import tables, transform
    from etl.plugins import chain

    cfg = ctx.cfg
    transformer, enrichers = chain(cfg.plugins)
    out = transformer.transform(paths, ctx)
    counts = dict(out.counts)
    events = transform.deduplicate(out.events, previous_ids(out.events)) if cfg.deduplicate else out.events
    for enricher in (e for e in enrichers if not e.per_event):
        events = enricher.enrich(events, ctx)
    # Not cached: `events` is a projection of the transformer's cache joined with small lookup tables, so each
    # table below reads only the columns it needs from that cache.
    counts["unique"] = events.count()
    counts["deduplicated"] = counts.get(OK, 0) - counts["unique"]
    batch = tables.user_state(events)
    merged = tables.merge_user_state(batch if previous_state is None else batch.unionByName(previous_state))
    merged = merged.persist(StorageLevel.MEMORY_AND_DISK)  # written as the new state and read for user_v2
    state = merged.where(
        F.unix_millis("event_timestamp") >= F.lit(cfg.now_ms - cfg.user_keep_days * 86_400_000)
    )
    users = tables.users(merged, batch, cfg.job_name, cfg.process_time_iso, cfg.created_time)
    final = events
    for enricher in (e for e in enrichers if e.per_event):
        final = enricher.enrich(final, ctx)
    built = {
        "item_v2": tables.project(transform.partitioned(tables.items(events)), "item_v2", cfg.max_length),
        "session": tables.project(transform.partitioned(tables.sessions(events)), "session"),
        "user_v2": tables.project(transform.partitioned(users), "user_v2", cfg.max_length),
        "event_v2": tables.project(transform.partitioned(final), "event_v2", cfg.max_length),
    }
    return Tables(built, state, out.corrupted, counts, [merged])


def _process(
    spark: SparkSession,
    layout: Layout,
    cfg: JobConfig,
    records: dict[str, dict[str, Any]],
    raw: list[str],
    progress: Progress,
) -> dict[str, int]:
    from etl.enrich.geo import anonymise_corrupted
    from etl.plugins import Context

    run = cfg.job_name
    previous_state = _user_state(spark, layout, records)
    built = build_tables(
        Context(spark, cfg),
        [layout.raw_store.url(k) for k in raw],
        lambda events: _previous_event_ids(spark, layout, events),
        previous_state,
    )
    corrupted = anonymise_corrupted(built.corrupted) if cfg.anonymise_ip else built.corrupted
    corrupted.coalesce(1).write.mode("overwrite").option("compression", "gzip").json(
        layout.out_store.url(_key(layout.job_data, "runs", run, "corrupted"))
    )
    built.user_state.write.mode("overwrite").parquet(
        layout.out_store.url(_key(layout.job_data, "runs", run, "user_state"))
    )
    for i, (name, df) in enumerate(built.tables.items()):
        progress(30 + 15 * i, f"writing {name}")
        _stage(df, layout, run, name)
    # Counted from the staged files' metadata: caching the enriched events only to count them costs a pass.
    staged = _key(layout.job_data, "runs", run, "event_v2")
    has_files = any(k.endswith(".parquet") for k in layout.out_store.list(staged))
    written = spark.read.parquet(layout.out_store.url(staged)).count() if has_files else 0
    built.counts["event_v2"] = written
    built.counts["filtered_bot"] = built.counts["unique"] - written
    progress(90, "committing the run")
    _commit(layout, run, raw, _key(layout.job_data, "user_state", run), built.counts)
    for df in built.cached:
        df.unpersist()
    return built.counts


def _process_duckdb(
    layout: Layout, cfg: JobConfig, records: dict[str, dict[str, Any]], raw: list[str], progress: Progress
) -> dict[str, int]:
    """The same run on the DuckDB engine (etl/duck.py): same staging, commit record and published names."""
    from etl import duck

    enrichers = duck.engine_enrichers(cfg.plugins)
    if layout.out_store.is_s3:
        raise ValueError("the DuckDB engine writes to a local lake; use --engine spark for an s3:// lake")
    run = cfg.job_name
    scratch = duck.scratch_dir(cfg)
    con = duck.connect(cfg, scratch)
    try:
        warm = duck.WarmUp(cfg, enrichers)
        warm.start()
        duck.transform(con, layout, cfg, raw, scratch)
        counts = duck.counts(con)
        corrupted = duck.corrupted(con, cfg)
        text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in corrupted)
        layout.out_store.write_bytes(
            _key(layout.job_data, "runs", run, "corrupted", "part-00000.json.gz"),
            gzip.compress(text.encode()),
        )
        states = [r["user_state"] for r in records.values() if r.get("user_state")]
        previous_state = []
        if states:
            folder = sorted(states)[-1]
            previous_state = [
                layout.out_store.url(k) for k in layout.out_store.list(folder) if k.endswith(".parquet")
            ]
        rules = warm.loaded()
        selects = duck.build(con, cfg, enrichers, duck.previous_ids(con, layout), previous_state, rules)
        (counts["unique"],) = con.execute("SELECT count(*) FROM unique_events").fetchone() or (0,)
        counts["deduplicated"] = counts.get(OK, 0) - counts["unique"]
        staged_state = layout.out_store.url(_key(layout.job_data, "runs", run, "user_state"))
        Path(staged_state).mkdir(parents=True, exist_ok=True)
        con.execute(
            f"COPY new_state TO '{staged_state}/part-00000.parquet' (FORMAT parquet, COMPRESSION snappy)"
        )
        for i, (name, select) in enumerate(selects.items()):
            progress(30 + 15 * i, f"writing {name}")
            duck.write_table(con, select, layout.out_store.url(_key(layout.job_data, "runs", run, name)))
        counts["event_v2"] = duck.written_rows(
            con, layout.out_store.url(_key(layout.job_data, "runs", run, "event_v2"))
        )
        counts["filtered_bot"] = counts["unique"] - counts["event_v2"]
    finally:
        con.close()  # a failed run too: its database files in the scratch folder are closed and deleted
        shutil.rmtree(scratch, ignore_errors=True)
    progress(90, "committing the run")
    _commit(layout, run, raw, _key(layout.job_data, "user_state", run), counts)
    return counts


def _commit(layout: Layout, run: str, raw: list[str], state_key: str, counts: dict[str, int]) -> None:
    files = _final_names(layout, run)
    staged_state = _key(layout.job_data, "runs", run, "user_state")
    for key in layout.out_store.list(staged_state):
        files[key] = _key(state_key, key[len(staged_state) + 1 :])
    record = {
        "run": run,
        "raw": raw,
        "files": files,
        "user_state": state_key,
        "summary": summary(counts, len(raw)),
    }
    commit_key = _key(layout.job_data, "commits", f"{run}.json")
    layout.out_store.write_text(commit_key, json.dumps(record))
    _publish(layout, record)
    layout.out_store.write_text(commit_key, json.dumps(record | {"published": True}))
    layout.out_store.delete_prefix(_key(layout.job_data, "runs", run))


def result(cfg: JobConfig, started: float, counts: dict[str, int], files: int) -> dict[str, Any]:
    """The figures a Job row records and CloudWatch receives."""
    return {"run": cfg.job_name, **summary(counts, files), "duration_s": round(time.time() - started, 3)}
