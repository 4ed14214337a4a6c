"""ETL benchmark: generate realistic raw data, run the whole job (all four tables) on each engine, compare.

    .venv/bin/python bench/etl.py --events 1000000 [--engines duckdb,spark] [--e2e-events 20000]
        [--workdir var/bench-etl] [--keep] [--reuse]

Per engine, in a child process of its own: the whole job's events/s, its own output floor (writing its
event_v2 rows again as Parquet, from memory: no job producing that table can take less) and the ratio, the
job's CPU time (user + sys of the child's process tree, a JVM's included) and the tree's peak memory (its
resident set sampled from /proc) during the job, and with the floors after it. Spark's read-and-write floor
(read the raw files, write them as Parquet) is measured after Spark's job. Then a small run end to end: `python -m etl run` (DuckDB, the default engine) over
`--e2e-events` events, process start, imports and the commit included. The machine is shared: ratios measured
side by side, CPU time and the load average printed with them are the figures that matter.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import json
import os
import random
import shutil
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from etl.config import JobConfig
from etl.job import run_job, write_partitioned
from etl.lake import lake_layout
from etl.read import RAW_SCHEMA
from etl.session import build_session

PROJECT, APPS = "bench", ("shop_web", "shop_android", "shop_ios")
START_MS = 1_764_000_000_000  # 2025-11-24
WEB_UAS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/1{0}.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/1{0}.1 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_{0} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
]
PAGES = ["/", "/products", "/products/{0}", "/cart", "/checkout", "/search?q=shoes&utm_source=google"]
REFERRERS = [
    "",
    "https://www.google.com/",
    "https://www.bing.com/search?q=x",
    "https://t.co/abc",
    "https://news.site/",
]


def _event(rng: random.Random, app: str, user: str, session: str, ts: int, name: str) -> dict:
    web = app.endswith("web")
    attrs: dict = {"_session_id": session, "_session_start_timestamp": ts - 5000, "_session_duration": 5000,
                   "_session_number": 1, "plan": rng.choice(["free", "pro"]), "ab_group": rng.randint(1, 4)}  # fmt: skip
    if web:
        page = rng.choice(PAGES).format(rng.randint(1, 500))
        attrs |= {"_page_url": f"https://shop.example.com{page}", "_page_title": "Shop",
                  "_page_referrer": rng.choice(REFERRERS), "_latest_referrer": rng.choice(REFERRERS)}  # fmt: skip
    else:
        attrs |= {"_screen_name": rng.choice(["Home", "Product", "Cart"]), "_screen_id": "s1"}
    event = {"event_type": name, "event_id": str(uuid.UUID(int=rng.getrandbits(128))), "app_id": app,
             "unique_id": user, "timestamp": ts, "platform": "Web" if web else app.split("_")[1].capitalize(),
             "device_id": user[:8], "make": "Apple", "brand": "Apple", "model": "iPhone15", "locale": "en_US",
             "os_version": "17.1", "screen_height": 2532, "screen_width": 1170, "zone_offset": 3600000,
             "sdk_version": "0.12.0", "sdk_name": "aws-solution-clickstream-sdk", "app_version": "1.2.0",
             "user": {"_user_id": {"value": f"u{user[:6]}", "set_timestamp": ts}}, "attributes": attrs}  # fmt: skip
    if name == "add_to_cart":
        event["items"] = [{"id": f"sku{rng.randint(1, 2000)}", "name": "Shoe", "price": 59.9, "quantity": 1}]
    return event


def _session_events(rng: random.Random, app: str, ts: int) -> list[dict]:
    user, session = str(uuid.UUID(int=rng.getrandbits(128))), uuid.uuid4().hex[:16]
    names = ["_first_open"] if rng.random() < 0.2 else []
    page = "_page_view" if app.endswith("web") else "_screen_view"
    picks = rng.choices(
        [page, "add_to_cart", "click", "_user_engagement"], weights=[6, 1, 2, 1], k=rng.randint(4, 16)
    )
    names += ["_session_start", *picks]
    return [_event(rng, app, user, session, ts + i * 3000, n) for i, n in enumerate(names)]


def _request(rng: random.Random, app: str, events: list[dict], ingest: int) -> dict:
    body = json.dumps(events, separators=(",", ":"))
    mobile = not app.endswith("web")
    data = base64.b64encode(gzip.compress(body.encode(), 1)).decode() if mobile else body
    ua = (
        rng.choice(WEB_UAS).format(rng.randint(0, 9)) if not mobile else "Dalvik/2.1.0 (Linux; U; Android 14)"
    )
    ip = f"{rng.choice([81, 13, 70, 101, 185])}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
    return {"appId": app, "compression": "gzip" if mobile else "", "data": data, "date": "", "ip": ip,
            "ingest_time": ingest, "method": "POST", "path": "/collect", "platform": app.split("_")[1],
            "rid": uuid.uuid4().hex, "server_ingest_time": ingest, "source_type": "http_server", "ua": ua,
            "uri": f"/collect?appId={app}&event_bundle_sequence_id={rng.randint(1, 99)}"}  # fmt: skip


def generate(root: Path, events: int, seed: int = 7) -> int:
    """Writes raw gzip NDJSON files (≈ 50 000 events each) in the lake layout; returns the event count."""
    rng = random.Random(seed)
    buffer = root / f"clickstream/{PROJECT}/data/buffer"
    written, lines, file_events, file_no = 0, [], 0, 0
    while written < events:
        app = rng.choice(APPS)
        ts = START_MS + rng.randint(0, 36 * 3_600_000)
        batch = _session_events(rng, app, ts)
        for i in range(0, len(batch), 10):
            lines.append(json.dumps(_request(rng, app, batch[i : i + 10], ts + 60_000)))
        written += len(batch)
        file_events += len(batch)
        if file_events >= 50_000 or written >= events:
            hour = buffer / f"year=2025/month=11/day=24/hour={file_no % 24:02d}"
            hour.mkdir(parents=True, exist_ok=True)
            (hour / f"{ts // 1000}-{uuid.uuid4()}.log.gz").write_bytes(
                gzip.compress("\n".join(lines).encode(), 1)
            )
            lines, file_events, file_no = [], 0, file_no + 1
    return written


def floor(spark: object, root: Path) -> float:
    """Spark's read-and-write floor: read the raw files and write them as Parquet, nothing else."""
    started = time.time()
    raw = sorted(str(p) for p in (root / f"clickstream/{PROJECT}/data/buffer").rglob("*.log.gz"))
    spark.read.schema(RAW_SCHEMA).json(raw).write.mode("overwrite").parquet(str(root / "floor"))  # type: ignore[attr-defined]
    return time.time() - started


def output_floor_spark(spark: object, root: Path) -> tuple[int, float]:
    """Spark's output floor: its event_v2 rows, held in memory, timed while written again as the job writes them
    (partitioned by app and day, snappy)."""
    written = spark.read.parquet(str(root / f"clickstream/{PROJECT}/data/ods/event_v2")).cache()  # type: ignore[attr-defined]
    rows = written.count()
    started = time.time()
    write_partitioned(written, str(root / "output-floor"))
    elapsed = time.time() - started
    written.unpersist()
    return rows, elapsed


def output_floor_duckdb(root: Path) -> tuple[int, float]:
    """DuckDB's output floor: its event_v2 rows loaded in memory, timed while written again as the job writes
    them (`etl.duck.write_table`)."""
    import duckdb

    from etl.duck import write_table

    con = duckdb.connect()
    ods = root / f"clickstream/{PROJECT}/data/ods/event_v2"
    con.execute(
        f"CREATE TABLE t AS SELECT * FROM read_parquet('{ods}/**/*.parquet', hive_partitioning = true)"
    )
    rows = con.execute("SELECT count(*) FROM t").fetchone()[0]  # type: ignore[index]
    started = time.time()
    write_table(con, "SELECT * FROM t", str(root / "output-floor-duckdb"))
    return rows, time.time() - started


def _reset(root: Path) -> None:
    for sub in ("data/ods", "job-data"):
        shutil.rmtree(root / f"clickstream/{PROJECT}/{sub}", ignore_errors=True)


def _tree(pid: int) -> list[int]:
    """The process and its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        todo += children.get(p, [])
    return found


def tree_cpu_s(pid: int | None = None) -> float:
    """User + sys CPU seconds of a process tree so far (live processes, and children they have waited for)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for p in _tree(pid or os.getpid()):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(x) for x in fields[11:15])  # utime, stime, cutime, cstime
    return total / ticks


def tree_rss_mib(pid: int) -> float:
    page = os.sysconf("SC_PAGE_SIZE")
    total = 0
    for p in _tree(pid):
        try:
            total += int(Path(f"/proc/{p}/statm").read_text().split()[1]) * page
        except OSError:
            continue
    return total / (1 << 20)


class PeakMemory(threading.Thread):
    """Samples a process tree's resident memory every 0.2 s; `peak_mib` is the largest sum seen."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak_mib, self.done = pid, 0.0, threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.2):
            self.peak_mib = max(self.peak_mib, tree_rss_mib(self.pid))


def loadavg() -> str:
    return Path("/proc/loadavg").read_text().strip()


def run_engine(engine: str, root: Path) -> None:
    """One whole job (all four tables) in this process; prints its figures as JSON (run as a child, so the
    parent reads the child's peak memory, the JVM's included)."""
    spark = None
    if engine == "spark":
        spark = build_session(
            "local[*]", **{"spark.driver.memory": "8g", "spark.sql.shuffle.partitions": "8"}
        )
        spark.sparkContext.setLogLevel("ERROR")
    cfg = JobConfig(project_id=PROJECT, app_ids=list(APPS), freshness_hours=10**6)
    peak = PeakMemory(os.getpid())  # the job's own peak: the floors after it hold their rows in memory
    peak.start()
    cpu, started = tree_cpu_s(), time.time()
    result = run_job(spark, lake_layout(str(root.resolve()), PROJECT), cfg)
    result["job_s"], result["job_cpu_s"] = time.time() - started, tree_cpu_s() - cpu
    peak.done.set()
    result["job_peak_mib"] = round(peak.peak_mib)
    if spark is not None:
        result["floor_s"] = floor(spark, root)
        result["output_floor_rows"], result["output_floor_s"] = output_floor_spark(spark, root)
    else:
        result["output_floor_rows"], result["output_floor_s"] = output_floor_duckdb(root)
    print("RESULT " + json.dumps(result), flush=True)


def _child(engine: str, root: Path) -> dict:
    child = subprocess.Popen(
        [sys.executable, __file__, "--engine-child", engine, "--workdir", str(root)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    peak = PeakMemory(child.pid)
    peak.start()
    out, err = child.communicate()
    peak.done.set()
    if child.returncode:
        raise SystemExit(f"the {engine} run failed:\n{err[-4000:]}")
    line = next(x for x in out.splitlines() if x.startswith("RESULT "))
    result = json.loads(line[len("RESULT ") :])
    result["peak_mib"] = round(peak.peak_mib)
    return result


def end_to_end(root: Path, events: int) -> tuple[float, float]:
    """Wall and CPU seconds of `python -m etl run` (the default engine) over `events` generated events."""
    shutil.rmtree(root, ignore_errors=True)
    generate(root, events)
    command = [sys.executable, "-m", "etl", "run", "--lake", str(root), "--project-id", PROJECT,
               "--app-ids", ",".join(APPS), "--freshness-hours", str(10**6)]  # fmt: skip
    started = time.time()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    cpu = 0.0
    while child.poll() is None:
        cpu = max(cpu, tree_cpu_s(child.pid))
        time.sleep(0.05)
    wall = time.time() - started
    if child.returncode:
        raise SystemExit(f"python -m etl run failed:\n{child.stderr.read()[-4000:] if child.stderr else ''}")
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--workdir", default="var/bench-etl")
    parser.add_argument("--engines", default="duckdb,spark", help="comma-separated: duckdb, spark")
    parser.add_argument(
        "--e2e-events", type=int, default=20_000, help="events of the end-to-end run; 0 skips it"
    )
    parser.add_argument("--keep", action="store_true", help="keep the generated data")
    parser.add_argument(
        "--reuse", action="store_true", help="reuse the data a --keep run generated for as many events"
    )
    parser.add_argument("--engine-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    root = Path(args.workdir)
    if args.engine_child:
        run_engine(args.engine_child, root)
        return
    print(f"load average at start: {loadavg()}", flush=True)
    generated = root / "generated.json"
    if args.reuse and generated.exists() and json.loads(generated.read_text())["asked"] == args.events:
        count = json.loads(generated.read_text())["events"]
        print(f"reusing {count} generated events in {root}", flush=True)
    else:
        shutil.rmtree(root, ignore_errors=True)
        t = time.time()
        count = generate(root, args.events)
        generated.write_text(json.dumps({"asked": args.events, "events": count}))
        print(f"generated {count} events in {time.time() - t:.1f}s", flush=True)
    results = {}
    for engine in args.engines.split(","):
        _reset(root)
        r = _child(engine, root)
        results[engine] = r
        print(
            f"{engine}: whole job {r['job_s']:.1f}s = {count / r['job_s']:,.0f} events/s "
            f"({r['job_cpu_s']:.1f} CPU-s = {r['job_cpu_s'] * 1e6 / count:.0f} CPU-us/event); "
            f"{r['rows_out']} event_v2 rows; output floor {r['output_floor_s']:.1f}s; "
            f"job / output floor = {r['job_s'] / r['output_floor_s']:.1f}x; peak memory of the job "
            f"{r['job_peak_mib']} MiB ({r['peak_mib']} MiB with the floors after it; process tree); load {loadavg()}",
            flush=True,
        )
    if "spark" in results:
        floor_s = results["spark"]["floor_s"]
        print(f"spark read-and-write floor: {floor_s:.1f}s = {count / floor_s:,.0f} events/s")
        for engine, r in results.items():
            print(f"{engine}: job speed / spark floor speed = {floor_s / r['job_s']:.3f}")
    if args.e2e_events:
        wall, cpu = end_to_end(root / "e2e", args.e2e_events)
        print(
            f"end to end: python -m etl run over {args.e2e_events} events: {wall:.2f}s ({cpu:.2f} CPU-s); "
            f"load {loadavg()}",
            flush=True,
        )
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
