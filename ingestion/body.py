"""Validation of request bodies as the Clickstream SDKs send them (spec/ingestion.md §1.6).

A body is a JSON array of event objects, either as plain UTF-8 text (Web SDK) or as base64 of gzip of that
text (mobile SDKs). The body is stored verbatim; it is decoded here only to refuse what the ETL could never
read, with bounded memory and CPU: the inflated size is capped, so a gzip bomb stops at the cap.
"""

from __future__ import annotations

import base64
import binascii
import zlib

import msgspec

GZIP_WBITS = 16 + zlib.MAX_WBITS


class AnyEvent(msgspec.Struct):
    """An event: any JSON object (its fields are the ETL's business, not the collector's)."""


EVENTS = msgspec.json.Decoder(list[AnyEvent])


class BadBody(ValueError):
    """The body cannot be accepted; the message says why (it goes to the log, not to the client)."""


def validate_body(body: bytes, *, max_inflated: int) -> tuple[str, int]:
    """Return the body as text (what the record stores as ``data``) and its number of events."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BadBody("body is not valid UTF-8") from error
    if body[:1] == b"[":  # the Web SDK's plain JSON: checked as it is, without copies
        return text, count_events(body)
    stripped = text.strip()
    if not stripped:
        raise BadBody("empty body")
    json_text = stripped.encode() if stripped[0] == "[" else inflate(stripped, max_inflated=max_inflated)
    return text, count_events(json_text)


def inflate(text: str, *, max_inflated: int) -> bytes:
    """base64 → gzip → bytes, refusing bad base64, truncated or trailing-garbage gzip and bombs."""
    try:
        compressed = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as error:
        raise BadBody("body is neither a JSON array nor base64") from error
    inflater = zlib.decompressobj(GZIP_WBITS)
    try:
        inflated = inflater.decompress(compressed, max_inflated + 1)
    except zlib.error as error:
        raise BadBody(f"body is not gzip: {error}") from error
    if len(inflated) > max_inflated:
        raise BadBody(f"inflated body over {max_inflated} bytes")
    if not inflater.eof:
        raise BadBody("gzip stream is truncated")
    return inflated


def count_events(json_text: bytes) -> int:
    """Validate the JSON array and check that it holds event objects.

    The events are not built as Python objects: msgspec checks the whole text while decoding each element
    into an empty struct, which skips the event's fields. That is half a full parse's cost."""
    try:
        events = EVENTS.decode(json_text)
    except msgspec.ValidationError as error:
        raise BadBody(f"not an array of event objects: {error}") from error
    except (msgspec.DecodeError, RecursionError) as error:
        raise BadBody(f"malformed JSON: {error}") from error
    if not events:
        raise BadBody("no events")
    return len(events)
