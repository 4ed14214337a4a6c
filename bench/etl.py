"""ETL benchmark: generate realistic raw data, run the full local job, and compare with the I/O floor.

    .venv/bin/python bench/etl.py --events 1000000 [--workdir var/bench-etl] [--keep]

The floor is a plain Spark job that reads the same raw files and writes them as Parquet; the figure that
matters is the ratio of the two speeds measured in the same run (the machine is shared, so absolute numbers
are noisy). Target: full job ≥ 0.5 × the floor.

A second reference, the output floor, is the time Spark takes only to write the job's own event_v2 rows as
Parquet again, from memory: no job that produces that table can take less, whatever it computes.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import json
import random
import shutil
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from etl.config import JobConfig
from etl.job import run_job
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
    """The I/O floor: read the raw files and write them as Parquet, nothing else."""
    started = time.time()
    raw = sorted(str(p) for p in (root / f"clickstream/{PROJECT}/data/buffer").rglob("*.log.gz"))
    spark.read.schema(RAW_SCHEMA).json(raw).write.mode("overwrite").parquet(str(root / "floor"))  # type: ignore[attr-defined]
    return time.time() - started


def output_floor(spark: object, root: Path) -> tuple[int, float]:
    """The event_v2 rows the job wrote, held in memory, then timed while they are written as Parquet again."""
    written = spark.read.parquet(str(root / f"clickstream/{PROJECT}/data/ods/event_v2")).cache()  # type: ignore[attr-defined]
    rows = written.count()
    started = time.time()
    written.write.mode("overwrite").parquet(str(root / "output-floor"))
    elapsed = time.time() - started
    written.unpersist()
    return rows, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--workdir", default="var/bench-etl")
    parser.add_argument("--keep", action="store_true", help="keep the generated data")
    args = parser.parse_args()
    root = Path(args.workdir)
    shutil.rmtree(root, ignore_errors=True)
    t = time.time()
    count = generate(root, args.events)
    print(f"generated {count} events in {time.time() - t:.1f}s", flush=True)
    spark = build_session("local[*]", **{"spark.driver.memory": "8g", "spark.sql.shuffle.partitions": "8"})
    spark.sparkContext.setLogLevel("ERROR")
    floor_s = floor(spark, root)
    print(f"floor (read raw, write parquet): {floor_s:.1f}s = {count / floor_s:,.0f} events/s", flush=True)
    cfg = JobConfig(project_id=PROJECT, app_ids=list(APPS), freshness_hours=10**6)
    started = time.time()
    result = run_job(spark, lake_layout(str(root.resolve()), PROJECT), cfg)
    job_s = time.time() - started
    print(json.dumps(result))
    print(f"full job: {job_s:.1f}s = {count / job_s:,.0f} events/s")
    print(f"ratio (job speed / floor speed): {floor_s / job_s:.3f} (target ≥ 0.5)")
    rows, out_s = output_floor(spark, root)
    print(f"output floor (write the {rows} event_v2 rows again, from memory): {out_s:.1f}s")
    print(
        f"ratio (output floor / job time): {out_s / job_s:.3f}; (output floor / floor): {out_s / floor_s:.2f}"
    )
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
