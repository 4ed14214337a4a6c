"""Validation of request bodies as the Clickstream SDKs send them (spec/ingestion.md §1.6).

A body is a JSON array of event objects, either as plain UTF-8 text (Web SDK) or as base64 of gzip of that
text (mobile SDKs). The body is stored verbatim; it is decoded here only to refuse what the ETL could never
read, with bounded memory and CPU: the inflated size of all the gzip members together is capped, so a gzip
bomb stops at the cap however it is split.
"""

from __future__ import annotations

import base64
import binascii
import zlib

import msgspec

GZIP_WBITS = 16 + zlib.MAX_WBITS
GZIP_MAGIC = b"\x1f\x8b"
# SDKs send one member; more than a few is no body of theirs, and each member costs an inflater.
MAX_MEMBERS = 16


class AnyEvent(msgspec.Struct):
    """An event: any JSON object (its fields are the ETL's business, not the collector's)."""


EVENTS = msgspec.json.Decoder(list[AnyEvent])


class BadBody(ValueError):
    """The body cannot be accepted; the message says why (it goes to the log and to the client)."""

    status = 400


class BodyTooLarge(BadBody):
    """The body inflates past the cap: 413, like a body that is too large as it is sent."""

    status = 413


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
    """base64 → gzip → UTF-8 bytes, refusing bad base64, truncated gzip, trailing garbage and bombs.

    A gzip stream may hold several members (RFC 1952 §2.2), and the ETL reads them all, so every member is
    inflated, under one cap for the whole body: a small first member cannot smuggle a bomb in a second.
    The members are few and small in practice, so each gets its own inflater at the cost of a few µs."""
    try:
        compressed = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as error:
        raise BadBody("body is neither a JSON array nor base64") from error
    members: list[bytes] = []
    room = max_inflated
    while True:
        if len(members) == MAX_MEMBERS:
            raise BadBody(f"gzip stream has more than {MAX_MEMBERS} members")
        inflater = zlib.decompressobj(GZIP_WBITS)
        try:
            member = inflater.decompress(compressed, room + 1)
        except zlib.error as error:
            raise BadBody(f"body is not gzip: {error}") from error
        room -= len(member)
        if room < 0:
            raise BodyTooLarge(f"body inflates to more than {max_inflated} bytes")
        if not inflater.eof:
            raise BadBody("gzip stream is truncated")
        members.append(member)
        compressed = inflater.unused_data
        if not compressed:
            break
        if not compressed.startswith(GZIP_MAGIC):
            raise BadBody(f"{len(compressed)} bytes of trailing data after the gzip stream")
    inflated = members[0] if len(members) == 1 else b"".join(members)
    check_utf8(inflated)
    return inflated


def check_utf8(inflated: bytes) -> None:
    """The JSON decoder skips the events' fields without looking at their bytes, so UTF-8 is checked here;
    ``isascii`` answers for almost every body without decoding it."""
    if inflated.isascii():
        return
    try:
        inflated.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BadBody(f"inflated body is not valid UTF-8 at byte {error.start}") from error


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
