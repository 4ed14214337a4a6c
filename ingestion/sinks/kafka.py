"""The Kafka sink: one message per request (the raw record as JSON, no key), idempotent producer, acks=all.

Delivery reports decide: messages that failed are produced again, up to a limit; the segment is confirmed
only when every message was acknowledged by all in-sync replicas.
"""

from __future__ import annotations

from collections.abc import Callable

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from ingestion.sinks.base import SinkError
from ingestion.spool import Segment, SpoolLine

MAX_MESSAGE_BYTES = 1_000_000


class KafkaSink:
    name = "kafka"

    def __init__(self, brokers: str, topic: str, extra: dict[str, object] | None = None) -> None:
        self.topic = topic
        self.timeout = 30.0
        config: dict[str, object] = {
            "bootstrap.servers": brokers,
            "acks": "all",
            "enable.idempotence": True,
            "linger.ms": 5,
            "message.max.bytes": MAX_MESSAGE_BYTES,
            "delivery.timeout.ms": 30_000,
            **(extra or {}),
        }
        self.producer = Producer(config)

    def put(self, segment: Segment, lines: list[SpoolLine]) -> None:
        pending = [line.record for line in lines]
        for _attempt in range(3):
            pending = self.produce_all(pending)
            if not pending:
                return
        raise SinkError(f"kafka: {len(pending)} messages not acknowledged")

    def produce_all(self, records: list[bytes]) -> list[bytes]:
        """Produce and wait for every delivery report; return the records that failed."""
        failed: list[bytes] = []

        def report(error: KafkaError | None, message: Message) -> None:
            value = message.value()
            if error is not None and value is not None:
                failed.append(value)

        for record in records:
            self.produce(record, report)
        left = self.producer.flush(self.timeout)
        if left:
            raise SinkError(f"kafka: {left} messages without a delivery report after {self.timeout}s")
        return failed

    def produce(self, record: bytes, report: Callable[[KafkaError | None, Message], None]) -> None:
        while True:
            try:
                self.producer.produce(self.topic, value=record, on_delivery=report)
                return
            except BufferError:
                self.producer.poll(0.1)  # the local queue is full: let deliveries drain
            except KafkaException as error:
                raise SinkError(f"kafka produce failed: {error}") from error

    def close(self) -> None:
        self.producer.flush(self.timeout)
