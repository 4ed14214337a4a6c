"""Request bodies: base64(gzip(UTF-8 JSON)) → text, with bounded memory (spec/etl.md §2.1; issue 10 item 4).

Every gzip member is inflated (a body may hold several, as `cat a.gz b.gz` makes), under one total cap per
body, so a small body that inflates to hundreds of MiB stops at the cap. Trailing bytes that are not a whole
gzip member, and inflated bytes that are not UTF-8, are refused. A refused body is never an error of the run:
its events are counted as corrupted with the reason returned here.

`inflate_arrow` is the vectorised form both engines call: DuckDB as a scalar function, and the Spark engine
through the same DuckDB SQL inside its tasks. zlib releases the interpreter lock while it inflates.
"""

from __future__ import annotations

import base64
import binascii
import zlib

import pyarrow as pa

GZIP_WBITS = 16 + zlib.MAX_WBITS
# Twice the collector's default `--max-inflated-bytes` (8 MiB): a body the collector accepted is never refused.
MAX_INFLATED_BYTES = 16 << 20
NOT_PACKED = "data is neither a JSON array nor base64 gzip"
TRAILING = "gzip body has trailing bytes that are not gzip"
TRUNCATED = "gzip body is truncated"
TOO_LARGE = f"gzip body inflates to more than {MAX_INFLATED_BYTES} bytes"
NOT_UTF8 = "inflated body is not UTF-8"
RESULT = pa.struct([("body", pa.string()), ("reason", pa.string())])


def inflate(text: str, max_inflated: int = MAX_INFLATED_BYTES) -> tuple[str | None, str | None]:
    """(text, None) for a good body, (None, reason) otherwise. Line breaks inside the base64 are allowed."""
    try:
        packed = base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        return None, NOT_PACKED
    parts: list[bytes] = []
    left = max_inflated
    while True:
        inflater = zlib.decompressobj(GZIP_WBITS)
        try:
            part = inflater.decompress(packed, left + 1)
        except zlib.error:
            return None, TRAILING if parts else NOT_PACKED
        left -= len(part)
        if left < 0:
            return None, TOO_LARGE if max_inflated == MAX_INFLATED_BYTES else f"over {max_inflated} bytes"
        if not inflater.eof:
            return None, TRUNCATED
        parts.append(part)
        packed = inflater.unused_data
        if not packed:
            break
    try:
        return b"".join(parts).decode("utf-8"), None
    except UnicodeDecodeError:
        return None, NOT_UTF8


def inflate_arrow(values: pa.Array) -> pa.Array:
    """An Arrow array of bodies (null where there is nothing to inflate) → struct<body, reason>."""
    out = [
        None if v is None else dict(zip(("body", "reason"), inflate(v), strict=True))
        for v in values.to_pylist()
    ]
    return pa.array(out, type=RESULT)
