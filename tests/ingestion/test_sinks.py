"""The S3 and Kinesis sinks against a real moto_server over HTTP, the Kafka sink against librdkafka's mock
cluster; each end to end through a collector process."""

from __future__ import annotations

import gzip
import re
import time
import uuid

import boto3
import httpx
import orjson
import pytest
from confluent_kafka import Consumer, Producer

from ingestion.sinks.kinesis import KinesisSink
from ingestion.spool import Segment, SpoolLine
from tests.ingestion.conftest import CollectorProcess, wait_until
from tests.ingestion.helpers import mobile_body, mobile_query, web_body

pytestmark = pytest.mark.slow
APPS = ("--app-ids", "shop_web,shop_android", "--project-id", "shop", "--batch-seconds", "1")


def send_requests(collector: CollectorProcess, count: int) -> set[str]:
    """Alternate web and mobile requests; return the request ids of the 200s."""
    rids = set()
    with httpx.Client(timeout=10) as client:
        for i in range(count):
            if i % 2:
                body: str | bytes = mobile_body()
                url = f"{collector.url}/collect?{mobile_query(body)}"  # type: ignore[arg-type]
            else:
                body, url = web_body(), f"{collector.url}/collect?appId=shop_web&platform=Web"
            answer = client.post(url, content=body)
            assert answer.status_code == 200, answer.text
            rids.add(answer.headers["x-request-id"])
    return rids


def s3_records(s3: object, bucket: str, prefix: str) -> tuple[list[str], list[dict]]:
    keys = [obj["Key"] for obj in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])]  # type: ignore[attr-defined]
    records = []
    for key in keys:
        blob = s3.get_object(Bucket=bucket, Key=key)["Body"].read()  # type: ignore[attr-defined]
        records += [orjson.loads(line) for line in gzip.decompress(blob).splitlines()]
    return keys, records


def test_s3_sink_rides_out_a_missing_bucket_and_writes_the_lake_layout(
    start_collector: object, aws_env: dict[str, str]
) -> None:
    bucket = f"lake-{uuid.uuid4().hex[:8]}"
    collector: CollectorProcess = start_collector(*APPS, sink=f"s3://{bucket}/pipelines/p1", env=aws_env)  # type: ignore[operator]
    rids = send_requests(collector, 20)
    wait_until(lambda: httpx.get(f"{collector.url}/health").json()["sink_healthy"] is False, timeout=15)
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=bucket)  # the outage ends

    def all_there() -> bool:
        return {r["rid"] for r in s3_records(s3, bucket, "pipelines/p1/")[1]} == rids

    wait_until(all_there, timeout=30, interval=0.5)
    keys, _ = s3_records(s3, bucket, "pipelines/p1/")
    pattern = r"pipelines/p1/clickstream/shop/data/buffer/year=\d{4}/month=\d\d/day=\d\d/hour=\d\d/\d+-[0-9a-f-]{36}\.log\.gz"
    assert all(re.fullmatch(pattern, key) for key in keys), keys
    assert collector.stop() == 0


def kinesis_records(kinesis: object, stream: str) -> list[dict]:
    records = []
    for shard in kinesis.list_shards(StreamName=stream)["Shards"]:  # type: ignore[attr-defined]
        iterator = kinesis.get_shard_iterator(  # type: ignore[attr-defined]
            StreamName=stream, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while iterator:
            answer = kinesis.get_records(ShardIterator=iterator, Limit=1000)  # type: ignore[attr-defined]
            records += [orjson.loads(record["Data"]) for record in answer["Records"]]
            if not answer["Records"]:
                break
            iterator = answer.get("NextShardIterator")
    return records


def test_kinesis_sink_puts_one_record_per_request(start_collector: object, aws_env: dict[str, str]) -> None:
    stream = f"clickstream-{uuid.uuid4().hex[:8]}"
    kinesis = boto3.client("kinesis")
    kinesis.create_stream(StreamName=stream, ShardCount=2)
    collector: CollectorProcess = start_collector(*APPS, sink=f"kinesis://{stream}", env=aws_env)  # type: ignore[operator]
    rids = send_requests(collector, 30)
    wait_until(lambda: {r["rid"] for r in kinesis_records(kinesis, stream)} == rids, timeout=30, interval=0.5)
    records = kinesis_records(kinesis, stream)
    assert len(records) == len(rids), "one Kinesis record per request, no duplicates"
    assert {r["appId"] for r in records} == {"shop_web", "shop_android"}
    assert collector.stop() == 0


class PartlyFailingKinesis:
    """The real (moto) client, except that the first PutRecords call reports every other record as
    throttled, as Kinesis does under load — moto never does, so the partial failure is made here."""

    def __init__(self, real: object) -> None:
        self.real = real
        self.calls: list[int] = []

    def put_records(self, StreamName: str, Records: list[dict]) -> dict:
        self.calls.append(len(Records))
        if len(self.calls) > 1:
            return self.real.put_records(StreamName=StreamName, Records=Records)  # type: ignore[attr-defined]
        self.real.put_records(StreamName=StreamName, Records=Records[::2])  # type: ignore[attr-defined]
        throttled = {"ErrorCode": "ProvisionedThroughputExceededException", "ErrorMessage": "slow down"}
        results = [
            {"SequenceNumber": "1", "ShardId": "s"} if i % 2 == 0 else throttled for i in range(len(Records))
        ]
        return {"FailedRecordCount": len(Records) // 2, "Records": results}


def test_kinesis_partial_failure_retries_only_the_failed_records(aws_env: dict[str, str]) -> None:
    stream = f"partial-{uuid.uuid4().hex[:8]}"
    real = boto3.client("kinesis")
    real.create_stream(StreamName=stream, ShardCount=1)
    flaky = PartlyFailingKinesis(real)
    lines = [SpoolLine("shop", "2026112722", orjson.dumps({"rid": f"{i:032x}", "n": i})) for i in range(10)]
    KinesisSink(stream, client=flaky).put(Segment(None, 1, 0, "u"), lines)  # type: ignore[arg-type]
    assert flaky.calls == [10, 5]
    assert sorted(r["n"] for r in kinesis_records(real, stream)) == list(range(10))


@pytest.fixture
def kafka_cluster() -> object:
    """librdkafka's built-in mock cluster (three brokers), alive as long as this producer is."""
    owner = Producer({"bootstrap.servers": "", "test.mock.num.brokers": 3, "log_level": 3})
    brokers = owner.list_topics(timeout=10).brokers.values()
    yield ",".join(f"{broker.host}:{broker.port}" for broker in brokers)
    owner.flush(1)


def test_kafka_sink_produces_one_message_per_request(start_collector: object, kafka_cluster: str) -> None:
    collector: CollectorProcess = start_collector(*APPS, sink=f"kafka://{kafka_cluster}/clickstream_raw")  # type: ignore[operator]
    rids = send_requests(collector, 20)
    consumer = Consumer(
        {
            "bootstrap.servers": kafka_cluster,
            "group.id": "test",
            "auto.offset.reset": "earliest",
            "log_level": 3,
        }
    )
    consumer.subscribe(["clickstream_raw"])
    seen: list[dict] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(seen) < len(rids):
        message = consumer.poll(0.5)
        if message is not None and not message.error():
            assert message.key() is None
            seen.append(orjson.loads(message.value() or b""))
    consumer.close()
    assert {record["rid"] for record in seen} == rids
    assert collector.stop() == 0
